// Tokenizes the corpus with gpt-3-encoder, the same byte-level BPE the shipped tokenizer.json
// holds, so training sees exactly the ids the model gets at run time.
//   node tools/demo-model/tokenize.mjs <corpus.txt> <tokens.bin>
// tokens.bin: uint16 little-endian ids, each document followed by <|endoftext|> (50256).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { encode } = createRequire(import.meta.url)('gpt-3-encoder');
const EOT = 50256;
const [corpusPath, outPath] = process.argv.slice(2);
const documents = readFileSync(corpusPath, 'utf8').split('\n<|endoftext|>\n').filter((d) => d.trim());
const ids = [];
let longest = 0;
for (const doc of documents) {
  const tokens = encode(doc);
  longest = Math.max(longest, tokens.length);
  ids.push(...tokens, EOT);
}
writeFileSync(outPath, Buffer.from(Uint16Array.from(ids).buffer));
console.log(JSON.stringify({ documents: documents.length, tokens: ids.length, distinct: new Set(ids).size, longest }));
