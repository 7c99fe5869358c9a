import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { BUNDLED_MODEL_DIR } from '../../lib/generation/model-loader';
import { OnnxTextGenerator } from '../../lib/generation/onnx-generator';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';
import { withTransformersEnv, type CausalLanguageModel, type OrtTensor } from '../../lib/generation/transformers';

/** The dimensions of every forward pass the generator asks onnxruntime for. */
interface RecordedRun {
  inputIds: readonly number[];
  attentionMask: readonly number[];
  past: readonly number[];
}

describe('lib/generation/onnx-generator (bundled model)', function () {
  this.timeout(30_000);
  let generator: OnnxTextGenerator;
  const runs: RecordedRun[] = [];

  before(async () => {
    generator = await withTransformersEnv(
      { allowLocalModels: true, allowRemoteModels: false, useFSCache: false, localModelPath: `${dirname(BUNDLED_MODEL_DIR)}/` },
      async (transformers) => {
        const options = { quantized: true, local_files_only: true };
        const tokenizer = await transformers.AutoTokenizer.from_pretrained(basename(BUNDLED_MODEL_DIR), options);
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
});
