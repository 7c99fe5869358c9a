import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { BUNDLED_MODEL_DIR } from '../../lib/generation/model-loader';
import { OnnxTextGenerator } from '../../lib/generation/onnx-generator';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';
import { withTransformersEnv, type CausalLanguageModel, type OrtTensor, type PreTrainedTokenizer } from '../../lib/generation/transformers';

/** The dimensions of every forward pass the generator asks onnxruntime for. */
interface RecordedRun {
  inputIds: readonly number[];
  attentionMask: readonly number[];
  past: readonly number[];
}

describe('lib/generation/onnx-generator (bundled model)', function () {
  this.timeout(30_000);
  let generator: OnnxTextGenerator;
  let tokenizer: PreTrainedTokenizer;
  const runs: RecordedRun[] = [];

  before(async () => {
    generator = await withTransformersEnv(
      { allowLocalModels: true, allowRemoteModels: false, useFSCache: false, localModelPath: `${dirname(BUNDLED_MODEL_DIR)}/` },
      async (transformers) => {
        const options = { quantized: true, local_files_only: true };
        tokenizer = await transformers.AutoTokenizer.from_pretrained(basename(BUNDLED_MODEL_DIR), options);
        const model = await transformers.AutoModelForCausalLM.from_pretrained(basename(BUNDLED_MODEL_DIR), options);
        // Record what reaches the real session, then run it.
        const session = model.session as CausalLanguageModel['session'] & { run: CausalLanguageModel['session']['run'] };
        const run = session.run.bind(session);
        session.run = (feeds: Record<string, OrtTensor>) => {
          runs.push({ inputIds: feeds.input_ids.dims, attentionMask: feeds.attention_mask.dims, past: feeds['past_key_values.0.key'].dims });
          return run(feeds);
        };
        return new OnnxTextGenerator('demo-gpt2', tokenizer, model, transformers.Tensor);
      },
    );
  });

  after(() => generator.dispose());
  beforeEach(() => (runs.length = 0));

  it('runs the prompt once, then all sampled sequences of a prompt as one batch', async () => {
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { num_return_sequences: 3, max_new_tokens: 5, min_new_tokens: 5, seed: 1 });
    const result = await generator.generate(['Spring is here'], options);
    assert.equal(result.prompts[0].sequences.length, 3);
    const promptTokens = result.prompts[0].promptTokens;
    assert.deepEqual(runs[0], { inputIds: [1, promptTokens], attentionMask: [1, promptTokens], past: [1, 4, 0, 32] });
    // 4 more steps for 5 tokens: one token per sequence, the three in one batch.
    assert.deepEqual(
      runs.slice(1).map((run) => run.inputIds),
      [
        [3, 1],
        [3, 1],
        [3, 1],
        [3, 1],
      ],
    );
    assert.deepEqual(runs[4].past, [3, 4, promptTokens + 3, 32]);
  });

  it('never feeds the model more positions than it has', async () => {
    const long = 'Fresh flowers for every occasion, delivered today. '.repeat(60);
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { max_new_tokens: 20, min_new_tokens: 20, do_sample: false });
    const result = await generator.generate([long], options);
    assert.equal(result.prompts[0].truncatedPrompt, true);
    assert.equal(result.prompts[0].promptTokens, 512 - 20);
    assert.equal(Math.max(...runs.map((run) => run.attentionMask[1])), 511, 'the 20th token is chosen, never fed');
    assert.equal(result.prompts[0].sequences[0].newTokens, 20);
  });

  it('lets timers run between steps and stops at the next step when aborted', async () => {
    const controller = new AbortController();
    let timerFired = false;
    setTimeout(() => {
      timerFired = true;
      controller.abort(new Error('stop now'));
    }, 20);
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { max_new_tokens: 400, min_new_tokens: 400, do_sample: false });
    await assert.rejects(generator.generate(['Hello'], options, { signal: controller.signal }), /stop now/);
    assert.ok(timerFired);
    assert.ok(runs.length < 400, `stopped after ${runs.length} of 400 steps`);
  });

  it('reports progress after every token and the seed it drew', async () => {
    const progress: number[] = [];
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { max_new_tokens: 4, min_new_tokens: 4 });
    const result = await generator.generate(['Hello', 'Bonjour'], options, { onProgress: (p) => progress.push(p.prompt * 10 + p.newTokens) });
    assert.deepEqual(progress, [1, 2, 3, 4, 11, 12, 13, 14]);
    assert.ok(Number.isInteger(result.seed));
  });

  it('returns an empty text when the end of the text is the first token (greedy, after a finished email)', async () => {
    // The demo model's emails (an opening, a body sentence, a call to action) end with the call to
    // action: end-of-text is its next token.
    const finished = 'Write a short birthday email from Example Shop to Vera. Offer: none.\nHi Vera,\nHappy birthday from all of us! We hope your day is full of good things.\nHave a wonderful day!';
    const greedy = (overrides: Record<string, unknown>) => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { do_sample: false, max_new_tokens: 4, ...overrides });
    const [sequence] = (await generator.generate([finished], greedy({}))).prompts[0].sequences;
    assert.deepEqual({ ...sequence }, { text: '', newTokens: 1, finishReason: 'eos' });
    const stopped = await generator.generate([finished], greedy({ stop: ['.'] }));
    assert.equal(stopped.prompts[0].sequences[0].text, '');
  });

  describe("Hugging Face's max_length and min_length (prompt tokens included)", () => {
    const resolve = (overrides: Record<string, unknown>) => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, overrides);
    const tokensOf = (text: string): number => tokenizer.encode(text, null, { add_special_tokens: false }).length;
    const PROMPT = 'Spring is here';

    it('gives a prompt of known length max_length - prompt tokens new tokens', async () => {
      const promptTokens = tokensOf(PROMPT);
      const progress: number[] = [];
      const options = resolve({ max_length: promptTokens + 7, min_length: promptTokens + 7, do_sample: false });
      const result = await generator.generate([PROMPT], options, { onProgress: (p) => progress.push(p.maxNewTokens) });
      assert.equal(result.prompts[0].promptTokens, promptTokens);
      assert.deepEqual(result.prompts[0].sequences.map(({ newTokens, finishReason }) => ({ newTokens, finishReason })), [
        { newTokens: 7, finishReason: 'length' },
      ]);
      assert.equal(runs.length, 7, 'the prompt, then one step per token but the last');
      assert.deepEqual(new Set(progress), new Set([7]), 'progress counts toward the new tokens max_length leaves');
    });

    it('lets max_new_tokens win when both are given', async () => {
      const promptTokens = tokensOf(PROMPT);
      const options = resolve({ max_length: promptTokens + 3, max_new_tokens: 6, min_new_tokens: 6, do_sample: false });
      const result = await generator.generate([PROMPT], options);
      assert.equal(result.prompts[0].sequences[0].newTokens, 6);
    });

    it('forbids the end of the text before min_length', async () => {
      // Greedy, the model ends this short email before 60 new tokens.
      const prompt = 'Write a short birthday email from Example Shop to Vera. Offer: none.\nHi Vera,';
      const free = await generator.generate([prompt], resolve({ max_new_tokens: 60, do_sample: false }));
      const [{ newTokens, finishReason }] = free.prompts[0].sequences;
      assert.equal(finishReason, 'eos');
      assert.ok(newTokens < 60, `${newTokens} tokens`);
      const options = resolve({ max_new_tokens: 60, min_length: tokensOf(prompt) + 60, do_sample: false });
      const held = await generator.generate([prompt], options);
      assert.deepEqual(held.prompts[0].sequences.map((s) => [s.newTokens, s.finishReason]), [[60, 'length']]);
      assert.ok(held.prompts[0].sequences[0].text.startsWith(free.prompts[0].sequences[0].text), 'the same text, not ended');
    });

    it("clamps max_length to the model's positions", async () => {
      const long = 'Fresh flowers for every occasion, delivered today. '.repeat(48);
      const promptTokens = tokensOf(long);
      assert.ok(promptTokens > 400 && promptTokens < 500, `${promptTokens} tokens`);
      const options = resolve({ max_length: 5000, min_length: 512, do_sample: false });
      const result = await generator.generate([long], options);
      assert.equal(result.prompts[0].truncatedPrompt, false);
      assert.equal(result.prompts[0].promptTokens, promptTokens);
      assert.equal(result.prompts[0].sequences[0].newTokens, 512 - promptTokens);
      assert.equal(Math.max(...runs.map((run) => run.attentionMask[1])), 511, 'the last token is chosen, never fed');
    });

    it('refuses a prompt that leaves max_length no new token, before running the model', async () => {
      const promptTokens = tokensOf(PROMPT);
      await assert.rejects(generator.generate([PROMPT], resolve({ max_length: promptTokens })), {
        code: 'maxLengthNoRoom',
        params: { index: 1, promptTokens, max_length: promptTokens, n_positions: 512 },
      });
      // Too long for the model's positions: never truncated, since max_length counts the prompt.
      const long = 'Discover our new collection of summer shoes and bags. '.repeat(60);
      await assert.rejects(generator.generate(['Hi', long], resolve({ max_length: 2000 })), {
        code: 'maxLengthNoRoom',
        params: { index: 2, promptTokens: tokensOf(long), max_length: 2000, n_positions: 512 },
      });
      await assert.rejects(generator.generate([long.repeat(20)], resolve({ max_length: 2000 })), {
        code: 'maxLengthNoRoom',
        params: { index: 1, promptTokens: 'more than 511', max_length: 2000, n_positions: 512 },
      });
      assert.equal(runs.length, 0);
    });
  });
});
