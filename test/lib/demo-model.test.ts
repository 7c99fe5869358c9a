// The bundled demo model (models/demo-gpt2) as shipped: its files, its configuration and
// its tokenizer, loaded with the real transformers.js and onnxruntime-node. How the model
// generates text is tested with the generation code; this file is about the files.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { decode as gpt3Decode, encode as gpt3Encode } from 'gpt-3-encoder';

type Transformers = typeof import('@xenova/transformers', { with: { 'resolution-mode': 'import' } });

const MODELS_DIR = path.resolve(__dirname, '..', '..', '..', 'models');
const MODEL_ID = 'demo-gpt2';
const MODEL_DIR = path.join(MODELS_DIR, MODEL_ID);
const N_LAYER = 6;
const N_HEAD = 4;
const N_EMBD = 128;

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(MODEL_DIR, file), 'utf8')) as Record<string, unknown>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [path.relative(MODEL_DIR, full).split(path.sep).join('/')];
  });
}

const SAMPLE_TEXTS = [
  'Write a short welcome email for Anna, a new customer in Berlin:',
  'Hi Anna,\nwelcome to Northwind Coffee! Enjoy 15% off your first order with the code WELCOME10.',
  '为北京的新客户李娜写一封简短的欢迎邮件：',
  '亲爱的李娜：\n欢迎加入北风咖啡！首单使用优惠码WELCOME10即可享受八五折优惠。',
  "O'Brien & Co — “quotes”, emoji 🎉, tabs\tand  double  spaces ",
];

describe('models/demo-gpt2 (the bundled demo model)', function () {
  let transformers: Transformers;
  const savedEnv: Partial<Transformers['env']> = {};

  before(async function () {
    // A real dynamic import: @xenova/transformers is ESM-only.
    transformers = await import('@xenova/transformers');
    const { env } = transformers;
    Object.assign(savedEnv, { localModelPath: env.localModelPath, allowRemoteModels: env.allowRemoteModels, useFSCache: env.useFSCache });
    env.localModelPath = MODELS_DIR;
    env.allowRemoteModels = false;
    // A cached copy of another model called demo-gpt2 must not shadow the shipped files.
    env.useFSCache = false;
  });

  after(function () {
    Object.assign(transformers.env, savedEnv);
  });

  it('ships exactly the files transformers.js needs, int8 only, under 10 MB', function () {
    assert.deepEqual(filesUnder(MODEL_DIR).sort(), [
      'config.json',
      'generation_config.json',
      'onnx/decoder_model_merged_quantized.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const bytes = filesUnder(MODEL_DIR).reduce((sum, f) => sum + statSync(path.join(MODEL_DIR, f)).size, 0);
    assert.ok(bytes < 10_000_000, `${bytes} bytes`);
  });

  it('declares a GPT-2 with the documented shape and GPT-2 token ids', function () {
    const config = readJson('config.json');
    assert.equal(config.model_type, 'gpt2');
    assert.deepEqual(
      [config.n_layer, config.n_head, config.n_embd, config.n_positions, config.vocab_size],
      [N_LAYER, N_HEAD, N_EMBD, 512, 50257],
    );
    assert.equal(config.bos_token_id, 50256);
    assert.equal(config.eos_token_id, 50256);
    assert.equal(config.tie_word_embeddings, true);
    assert.equal(readJson('tokenizer_config.json').model_max_length, config.n_positions);
    assert.equal(readJson('generation_config.json').eos_token_id, 50256);
  });

  it('has a tokenizer.json with every top-level key and GPT-2 merges as "a b" strings', function () {
    const tokenizer = readJson('tokenizer.json');
    for (const key of ['version', 'truncation', 'padding', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'model']) {
      assert.ok(key in tokenizer, key);
    }
    const model = tokenizer.model as { type: string; vocab: Record<string, number>; merges: string[] };
    assert.equal(model.type, 'BPE');
    assert.equal(Object.keys(model.vocab).length, 50257);
    assert.equal(model.vocab['<|endoftext|>'], 50256);
    assert.equal(model.merges.length, 50000);
    assert.equal(model.merges[0], 'Ġ t');
    assert.ok(model.merges.every((m) => m.split(' ').length === 2));
  });

  it('tokenizes and decodes exactly like gpt-3-encoder, in English and Chinese', async function () {
    const tokenizer = await transformers.AutoTokenizer.from_pretrained(MODEL_ID);
    for (const text of SAMPLE_TEXTS) {
      const ids = tokenizer.encode(text);
      assert.deepEqual(ids, gpt3Encode(text), text);
      assert.equal(tokenizer.decode(ids), text);
      assert.equal(gpt3Decode(ids), text);
    }
    assert.equal(tokenizer.model_max_length, 512);
  });

  it('loads as a causal LM whose int8 graph has the inputs and outputs the generation code feeds', async function () {
    const onnxBytes = readFileSync(path.join(MODEL_DIR, 'onnx', 'decoder_model_merged_quantized.onnx'));
    // Integer matrix products, as onnxruntime's dynamic quantization writes them.
    assert.ok(onnxBytes.includes('MatMulInteger') && onnxBytes.includes('DynamicQuantizeLinear'));

    const model = await transformers.AutoModelForCausalLM.from_pretrained(MODEL_ID);
    try {
      const session = (model as unknown as { session: { inputNames: string[]; outputNames: string[] } }).session;
      const pastNames = Array.from({ length: N_LAYER }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat();
      assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'position_ids', ...pastNames]);
      assert.deepEqual(session.outputNames, ['logits', ...pastNames.map((n) => n.replace('past_key_values', 'present'))]);

      // One forward pass with an empty past (step 0), then one cached step.
      const { Tensor } = transformers;
      const ids = gpt3Encode(SAMPLE_TEXTS[0]);
      const int64 = (values: number[]) => BigInt64Array.from(values.map(BigInt));
      const first = await model({
        input_ids: new Tensor('int64', int64(ids), [1, ids.length]),
        attention_mask: new Tensor('int64', int64(ids.map(() => 1)), [1, ids.length]),
      });
      assert.deepEqual(first.logits.dims, [1, ids.length, 50257]);
      const present = first.past_key_values['past_key_values.0.key'];
      assert.deepEqual(present.dims, [1, N_HEAD, ids.length, N_EMBD / N_HEAD]);
      const second = await model({
        input_ids: new Tensor('int64', int64([198]), [1, 1]),
        attention_mask: new Tensor('int64', int64([...ids, 198].map(() => 1)), [1, ids.length + 1]),
        past_key_values: first.past_key_values,
      });
      assert.deepEqual(second.logits.dims, [1, 1, 50257]);
      assert.ok((second.logits.data as Float32Array).every(Number.isFinite));
    } finally {
      await model.dispose();
    }
  });
});
