import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import type { GenerationResult } from '../../lib/generation/generator';
import { modelKey } from '../../lib/generation/backends';
import {
  BUNDLED_MODEL_DIR,
  checkedBatchRows,
  DEFAULT_BATCH_ROWS,
  loadLocalModel,
  resolveLocalModelSpec,
  type LocalModelSpec,
} from '../../lib/generation/model-loader';
import { ModelRegistry } from '../../lib/generation/model-registry';
import { OnnxTextGenerator } from '../../lib/generation/onnx-generator';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';
import { withTransformersEnv, type CausalLanguageModel, type OrtTensor } from '../../lib/generation/transformers';

const PROMPTS = [
  'Write a short welcome email for Anna, a new customer in Berlin who loves coffee',
  'Spring is here',
  'Subject line for a summer sale on shoes:',
  'Dear Li Wei, thank you for your order of green tea. We',
  'Hello',
  'Our new collection of bags is here and',
  'Write a reminder email for Tom about his abandoned cart with 2 items',
  'Thank you.',
];

const options = (overrides: Record<string, unknown>) => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, overrides);
const text = (result: GenerationResult, sequence = 0): string => result.prompts[0].sequences[sequence].text;
const bundled = (batchRows: number): LocalModelSpec => ({
  source: 'bundled',
  location: '',
  quantized: true,
  allowDownloads: false,
  cacheDir: '',
  remoteHost: '',
  batchRows,
});

/** What reaches the real session in one forward pass. */
interface RecordedRun {
  rows: number;
  /** input_ids length: > 1 for a prefill. */
  length: number;
  mask: number[][];
  positions: number[] | undefined;
}

/** The bundled model with batching, every forward pass recorded before it runs. */
async function recordingGenerator(batchRows: number, runs: RecordedRun[]): Promise<OnnxTextGenerator> {
  return withTransformersEnv(
    { allowLocalModels: true, allowRemoteModels: false, useFSCache: false, localModelPath: `${dirname(BUNDLED_MODEL_DIR)}/` },
    async (transformers) => {
      const settings = { quantized: true, local_files_only: true };
      const tokenizer = await transformers.AutoTokenizer.from_pretrained(basename(BUNDLED_MODEL_DIR), settings);
      const model = await transformers.AutoModelForCausalLM.from_pretrained(basename(BUNDLED_MODEL_DIR), settings);
      const session = model.session as CausalLanguageModel['session'];
      const run = session.run.bind(session);
      session.run = (feeds: Record<string, OrtTensor>) => {
        const [rows, length] = feeds.input_ids.dims;
        const total = feeds.attention_mask.dims[1];
        const mask = Array.from({ length: rows }, (_, i) => Array.from((feeds.attention_mask.data as BigInt64Array).subarray(i * total, (i + 1) * total), Number));
        const positions = length === 1 ? Array.from(feeds.position_ids.data as BigInt64Array, Number) : undefined;
        runs.push({ rows, length, mask, positions });
        return run(feeds);
      };
      return new OnnxTextGenerator('demo-gpt2', tokenizer, model, transformers.Tensor, batchRows);
    },
  );
}

describe('lib/generation/batch-decoder: continuous batching (bundled model)', function () {
  this.timeout(60_000);
  let alone: OnnxTextGenerator;
  let batched: OnnxTextGenerator;
  const runs: RecordedRun[] = [];

  before(async () => {
    alone = await loadLocalModel(bundled(1), () => undefined);
    batched = await recordingGenerator(16, runs);
  });
  after(async () => {
    await alone.dispose();
    await batched.dispose();
  });
  beforeEach(() => (runs.length = 0));

  const batch = () => {
    assert.ok(batched.batching, 'batching is on with 16 rows');
    return batched.batching;
  };

  it('is set by batch rows: 1 (off) by default, up to 256, each setting its own shared model', () => {
    assert.equal(DEFAULT_BATCH_ROWS, 1);
    assert.equal(resolveLocalModelSpec({}, '/base').batchRows, 1);
    assert.equal(resolveLocalModelSpec({ batchRows: '' }, '/base').batchRows, 1);
    assert.equal(checkedBatchRows(resolveLocalModelSpec({ batchRows: '4' }, '/base').batchRows), 4);
    assert.equal(modelKey(resolveLocalModelSpec({ batchRows: 1 }, '/base')), modelKey(resolveLocalModelSpec({}, '/base')));
    assert.notEqual(modelKey(resolveLocalModelSpec({ batchRows: 16 }, '/base')), modelKey(resolveLocalModelSpec({}, '/base')));
    for (const bad of [0, 257, 2.5, 'many']) assert.throws(() => checkedBatchRows(bad), { code: 'badBatchRows' });
  });

  it('is off with one row, and takes only requests without a seed', () => {
    assert.equal(alone.batching, undefined);
    assert.equal(batch().maxRows, 16);
    assert.equal(batch().accepts(options({ seed: 1 })), false);
    assert.equal(batch().accepts(options({})), true);
    assert.equal(batch().accepts(options({ do_sample: false })), true);
  });

  it('gives a lone message exactly the text it gets without batching, at once', async () => {
    const greedy = options({ do_sample: false, max_new_tokens: 30 });
    const started: number[] = [];
    const result = await batch().generate([PROMPTS[0]], greedy, { onStart: () => started.push(runs.length) });
    assert.deepEqual(started, [0], 'started before any forward pass: it waited for no companion');
    assert.equal(text(result), text(await alone.generate([PROMPTS[0]], greedy)));
    // Sampled without a seed: the seed it reports replays the text without batching.
    const sampled = options({ max_new_tokens: 30, num_return_sequences: 2 });
    const drawn = await batch().generate([PROMPTS[3]], sampled);
    const replayed = await alone.generate([PROMPTS[3]], { ...sampled, seed: drawn.seed });
    assert.deepEqual(drawn.prompts[0].sequences, replayed.prompts[0].sequences);
  });

  it('decodes prompts of different lengths as one batch, shorter rows left-padded with masked keys', async () => {
    const greedy = options({ do_sample: false, max_new_tokens: 8, min_new_tokens: 8 });
    const results = await Promise.all(PROMPTS.slice(0, 3).map((prompt) => batch().generate([prompt], greedy)));
    const lengths = results.map((result) => result.prompts[0].promptTokens);
    assert.equal(new Set(lengths).size, 3, `three prompt lengths: ${lengths.join(', ')}`);
    const prefills = runs.filter((run) => run.length > 1);
    assert.deepEqual(prefills.map((run) => [run.rows, run.length]), lengths.map((length) => [1, length]), 'each prompt prefilled alone');
    const steps = runs.filter((run) => run.length === 1);
    assert.equal(steps.length, 7, 'one pass per step for the three rows together');
    const longest = Math.max(...lengths);
    for (const [k, step] of steps.entries()) {
      assert.equal(step.rows, 3);
      lengths.forEach((length, i) => {
        const padding = longest - length;
        assert.deepEqual(step.mask[i], [...new Array<number>(padding).fill(0), ...new Array<number>(length + k + 1).fill(1)]);
        assert.equal(step.positions?.[i], length + k, 'each row at its own position');
      });
    }
  });

  it('gives the same greedy texts decoded together as alone where int8 allows: exactly for copies, mostly for different prompts', async () => {
    const greedy = options({ do_sample: false, max_new_tokens: 40 });
    const single: string[] = [];
    for (const prompt of PROMPTS) single.push(text(await alone.generate([prompt], greedy)));
    // Copies of one prompt: every row has the same activations, so the int8 model quantizes
    // the batch exactly as the prompt alone, and the texts are identical.
    const copies = await Promise.all([0, 1, 2, 3].map(() => batch().generate([PROMPTS[1]], greedy)));
    assert.deepEqual(copies.map((result) => text(result)), new Array(4).fill(single[1]));
    // Different prompts: the model quantizes each layer's activations per tensor, over the
    // whole batch, so a row's logits move slightly with its companions and a near tie can
    // go the other way. Measured: 7 of these 8 texts identical to their text alone.
    const together = (await Promise.all(PROMPTS.map((prompt) => batch().generate([prompt], greedy)))).map((result) => text(result));
    const identical = together.filter((value, i) => value === single[i]).length;
    assert.ok(identical >= PROMPTS.length / 2, `${identical} of ${PROMPTS.length} identical`);
    // Every text starts with the same token: the prefill, which chooses it, runs alone.
    for (const [i, value] of together.entries()) assert.equal(value.slice(0, 1), single[i].slice(0, 1), `text ${i}`);
  });

  it("keeps each row's own options: greedy beside sampled, its own lengths and stop strings", async () => {
    const greedy = options({ do_sample: false, max_new_tokens: 6, min_new_tokens: 6 });
    const sampled = options({ max_new_tokens: 20, min_new_tokens: 20, num_return_sequences: 3 });
    const stopped = options({ do_sample: false, max_new_tokens: 40, stop: ['\n'] });
    const [a, b, c] = await Promise.all([
      batch().generate([PROMPTS[0]], greedy),
      batch().generate([PROMPTS[5]], sampled),
      batch().generate([PROMPTS[6]], stopped),
    ]);
    assert.deepEqual(a.prompts[0].sequences.map((s) => [s.newTokens, s.finishReason]), [[6, 'length']]);
    assert.deepEqual(b.prompts[0].sequences.map((s) => [s.newTokens, s.finishReason]), new Array(3).fill([20, 'length']));
    assert.equal(new Set(b.prompts[0].sequences.map((s) => s.text)).size, 3, 'three sampled rows, three random streams');
    assert.equal(c.prompts[0].sequences[0].finishReason, 'stop');
    assert.ok(text(c).length > 0 && !text(c).includes('\n'), `cut before the stop string: ${JSON.stringify(text(c))}`);
    const steps = runs.filter((run) => run.length === 1).map((run) => run.rows);
    assert.equal(steps[0], 5, 'one greedy, three sampled and one stopped row in one pass');
    assert.deepEqual([...steps].sort((x, y) => y - x), steps, 'rows only leave');
    assert.equal(steps.at(-1), 3, 'the sampled rows go on alone');
    // The greedy row leaves as soon as its 6th token is chosen (by the 5th pass): the 6th
    // pass has at most 4 rows.
    assert.ok(steps[5] <= 4, `pass 6 has ${steps[5]} rows`);
  });

  it('takes a message that times out or is closed out of the batch without disturbing the others', async () => {
    const greedy = options({ do_sample: false, max_new_tokens: 30, min_new_tokens: 30 });
    const controller = new AbortController();
    const progress: number[] = [];
    const results = PROMPTS.slice(0, 3).map((prompt, i) =>
      batch().generate([prompt], greedy, {
        signal: i === 1 ? controller.signal : undefined,
        onProgress: i === 1 ? (p) => progress.push(p.newTokens) && p.newTokens === 10 && controller.abort(new Error('timed out')) : undefined,
      }),
    );
    await assert.rejects(results[1], /timed out/);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const [first, third] = await Promise.all([results[0], results[2]]);
    assert.equal(first.prompts[0].sequences[0].newTokens, 30);
    assert.equal(third.prompts[0].sequences[0].newTokens, 30);
    // Three rows until the pass that chose the aborted message's 10th token, two after it.
    const steps = runs.filter((run) => run.length === 1).map((run) => run.rows);
    assert.deepEqual(steps, [...new Array<number>(9).fill(3), ...new Array<number>(20).fill(2)]);
    // A progress callback that throws ends its own message only.
    runs.length = 0;
    const [thrown, other] = await Promise.allSettled([
      batch().generate([PROMPTS[0]], greedy, {
        onProgress: (p) => {
          if (p.newTokens === 3) throw new Error('callback failed');
        },
      }),
      batch().generate([PROMPTS[1]], greedy),
    ]);
    assert.equal(thrown.status === 'rejected' && (thrown.reason as Error).message, 'callback failed');
    assert.equal(other.status === 'fulfilled' && other.value.prompts[0].sequences[0].newTokens, 30);
    // A request aborted before it starts never reaches the model.
    const waiting = new AbortController();
    waiting.abort(new Error('closed'));
    runs.length = 0;
    await assert.rejects(batch().generate([PROMPTS[0]], greedy, { signal: waiting.signal }), /closed/);
    assert.equal(runs.length, 0);
  });

  it('decodes at most its maximum of rows, starting prompts in arrival order', async () => {
    const smallRuns: RecordedRun[] = [];
    const small = await recordingGenerator(2, smallRuns);
    try {
      const batching = small.batching;
      assert.ok(batching);
      const greedy = options({ do_sample: false, max_new_tokens: 5, min_new_tokens: 5 });
      const started: number[] = [];
      const done: number[] = [];
      const rowsSeen: number[] = [];
      batching.onChange = () => rowsSeen.push(batching.rowsDecoding);
      const requests = [0, 1, 2, 3].map((i) =>
        batching.generate([PROMPTS[i]], greedy, { onStart: () => started.push(i) }).then(() => done.push(i)),
      );
      assert.equal(batching.waitingCount, 4);
      await Promise.all(requests);
      assert.deepEqual(started, [0, 1, 2, 3]);
      assert.deepEqual(done, [0, 1, 2, 3]);
      assert.ok(smallRuns.every((run) => run.rows <= 2));
      // Told of every change: four requests queued, then rows joining and leaving.
      assert.deepEqual(rowsSeen.slice(0, 4), [0, 0, 0, 0]);
      assert.ok(rowsSeen.includes(2) && rowsSeen.at(-1) === 0, rowsSeen.join(','));
      // A prompt with more rows than the maximum starts alone when the batch is empty.
      smallRuns.length = 0;
      const wide = await batching.generate([PROMPTS[1]], options({ max_new_tokens: 4, min_new_tokens: 4, num_return_sequences: 3 }));
      assert.equal(wide.prompts[0].sequences.length, 3);
      assert.deepEqual(smallRuns.filter((run) => run.length === 1).map((run) => run.rows), [3, 3, 3]);
      await batching.whenIdle();
      assert.equal(batching.rowsDecoding, 0);
    } finally {
      await small.dispose();
    }
  });

  it('reports progress per prompt of a message, its prompts decoding side by side', async () => {
    const progress: string[] = [];
    const result = await batch().generate(['Hello', 'Bonjour'], options({ max_new_tokens: 3, min_new_tokens: 3 }), {
      onProgress: (p) => progress.push(`${p.prompt}:${p.newTokens}/${p.maxNewTokens}`),
    });
    assert.equal(result.prompts.length, 2);
    assert.deepEqual(progress, ['0:1/3', '1:1/3', '0:2/3', '1:2/3', '0:3/3', '1:3/3']);
  });
});

describe('lib/generation/model-registry with batching: seeded texts (bundled model)', function () {
  this.timeout(60_000);

  it('gives a seeded message the same text alone and under concurrent load', async () => {
    const registry = new ModelRegistry((spec) => loadLocalModel(spec as LocalModelSpec, () => undefined));
    const off = registry.acquire(bundled(1));
    const on = registry.acquire(bundled(16));
    try {
      const seeded = PROMPTS.slice(0, 4).map((_, i) => options({ seed: 100 + i, max_new_tokens: 30, num_return_sequences: 2 }));
      const reference: GenerationResult[] = [];
      for (const [i, opts] of seeded.entries()) reference.push(await off.model.generate([PROMPTS[i]], opts));
      // The seeded messages arrive among 12 unseeded ones, sampled and greedy.
      const load = PROMPTS.concat(PROMPTS.slice(0, 4)).map((prompt, i) =>
        on.model.generate([prompt], options({ max_new_tokens: 40, do_sample: i % 3 !== 0 })),
      );
      const underLoad = await Promise.all(seeded.map((opts, i) => on.model.generate([PROMPTS[i]], opts)));
      await Promise.all(load);
      assert.deepEqual(
        underLoad.map((result) => result.prompts[0].sequences),
        reference.map((result) => result.prompts[0].sequences),
      );
      assert.deepEqual(underLoad.map((result) => result.seed), [100, 101, 102, 103]);
    } finally {
      await off.release();
      await on.release();
    }
  });
});
