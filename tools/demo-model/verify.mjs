// Checks a built model folder with the real transformers.js 2.17 and onnxruntime-node:
//   node tools/demo-model/verify.mjs <model folder> [reference.json from build.py --reference]
// - the tokenizer round-trips exactly like gpt-3-encoder (English, Chinese, emoji, spaces);
// - the ONNX graph(s) reproduce PyTorch's logits (prompt, then one cached step);
// - AutoModelForCausalLM and pipeline('text-generation') load the folder and generate.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const folder = path.resolve(process.argv[2] ?? 'models/demo-gpt2');
const referencePath = process.argv[3];
const { env, AutoTokenizer, AutoModelForCausalLM, pipeline, Tensor } = await import('@xenova/transformers');
const gpt3 = require('gpt-3-encoder');

env.localModelPath = path.dirname(folder);
env.allowRemoteModels = false;
env.useFSCache = false;
env.useBrowserCache = false;
const id = path.basename(folder);

const texts = [
  'Write a short welcome email for Anna, a new customer in Berlin:',
  'Dear Anna,\n\nWelcome to Smart Marketing!  Enjoy 15% off your first order — today only. 🎉',
  '为北京的新客户李娜写一封简短的欢迎邮件：',
  '亲爱的李娜，欢迎加入我们！首单立享八五折，活动截止到本周日。',
  "  leading spaces, tabs\tand 'quotes' don't break it  ",
];
const tokenizer = await AutoTokenizer.from_pretrained(id);
let failures = 0;
for (const text of texts) {
  const ours = tokenizer.encode(text);
  const theirs = gpt3.encode(text);
  const same = JSON.stringify(ours) === JSON.stringify(theirs);
  const back = tokenizer.decode(ours);
  if (!same || back !== text || gpt3.decode(theirs) !== text) {
    failures++;
    console.log('TOKENIZER MISMATCH', JSON.stringify(text), ours, theirs, JSON.stringify(back));
  }
}
console.log(`tokenizer: ${texts.length - failures}/${texts.length} texts identical to gpt-3-encoder, round-trip exact`);

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}
function argmax(a) { let best = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i; return best; }

const variants = [true];
if (existsSync(path.join(folder, 'onnx', 'decoder_model_merged.onnx'))) variants.push(false);
for (const quantized of variants) {
  const t0 = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(id, { quantized });
  const loadMs = performance.now() - t0;
  const session = model.session;
  console.log(`${quantized ? 'int8' : 'fp32'}: loaded in ${loadMs.toFixed(0)} ms; inputs ${session.inputNames.slice(0, 4).join(', ')}, ... ; outputs ${session.outputNames.slice(0, 3).join(', ')}, ...`);
  if (referencePath) {
    const ref = JSON.parse(readFileSync(referencePath, 'utf8'));
    const ids = new Tensor('int64', BigInt64Array.from(ref.prompt.map(BigInt)), [1, ref.prompt.length]);
    const mask = new Tensor('int64', new BigInt64Array(ref.prompt.length).fill(1n), [1, ref.prompt.length]);
    const first = await model({ input_ids: ids, attention_mask: mask });
    const vocab = first.logits.dims[2];
    const last = first.logits.data.slice((ref.prompt.length - 1) * vocab);
    const stepIds = new Tensor('int64', BigInt64Array.from(ref.step.map(BigInt)), [1, 1]);
    const stepMask = new Tensor('int64', new BigInt64Array(ref.prompt.length + 1).fill(1n), [1, ref.prompt.length + 1]);
    const second = await model({ input_ids: stepIds, attention_mask: stepMask, past_key_values: first.past_key_values });
    for (const [name, got, want] of [['prompt', last, ref.prompt_last_logits], ['cached step', second.logits.data, ref.step_logits]]) {
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      console.log(`  ${name}: cosine ${cosine(got, want).toFixed(5)}, max |diff| ${maxDiff.toExponential(2)}, argmax ${argmax(got)} vs PyTorch ${argmax(want)}`);
    }
  }
  const config = model.config;
  console.log(`  config: model_type ${config.model_type}, n_layer ${config.n_layer}, n_head ${config.n_head}, n_embd ${config.n_embd}, n_positions ${config.n_positions}, eos ${config.eos_token_id}`);
  await model.dispose();
}

// In example 01's shape: the facts, then the greeting the model writes on from.
const examplePrompts = [
  'Write a short welcome email from Example Shop to Anna, a new customer in Berlin. Offer: code WELCOME10, 10% off.\nHi Anna,',
  'Write a short thank-you email from Example Shop to Lukas, a loyal customer in Munich. Offer: none.\nHi Lukas,',
  'Write a short "we miss you" email from Example Shop to Sophie in Paris, who has not ordered for a while. Offer: free delivery.\nHi Sophie,',
  '为Example Shop给北京的新客户李娜写一封简短的欢迎邮件。优惠：优惠码WELCOME10，10%折扣。\n李娜，您好！',
  '为Example Shop给上海的老客户王芳写一封简短的感谢邮件。优惠：无。\n王芳，您好！',
  '为Example Shop给杭州的张伟写一封“我们想念您”的邮件。优惠：免运费。\n张伟，您好！',
];
const generator = await pipeline('text-generation', id);
for (const prompt of examplePrompts) {
  const t0 = performance.now();
  const greedy = await generator(prompt, { max_new_tokens: 160, do_sample: false });
  const ms = performance.now() - t0;
  const sampled = await generator(prompt, { max_new_tokens: 160, do_sample: true, top_k: 50 });
  console.log(`greedy (${ms.toFixed(0)} ms for <=160 tokens): ${JSON.stringify(greedy[0].generated_text)}`);
  console.log(`sampled: ${JSON.stringify(sampled[0].generated_text)}`);
}
await generator.dispose();
if (failures) process.exitCode = 1;
