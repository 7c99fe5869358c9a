/**
 * `npm run bench:generate`: text generation speed and memory on a GPT-2-small-shaped model
 * (12 layers, 768 wide, 12 heads, 50257 tokens, random weights, int8) that `npm run
 * bench:model` builds into bench/.models/gpt2-small-random/ (not committed).
 *
 * For 64 new tokens from a 16-token prompt, in one process: our marketing-generate-text
 * node (through the Node-RED runtime) and our lib/ loop, greedy and sampled (top_k 50,
 * top_p 0.95); transformers.js's own text-generation pipeline, greedy and sampled; the
 * PyTorch reference (bench/generate_torch.py, when present); time to first token and load
 * times. Then peak RSS of a Node-RED runtime with five generate-text nodes sharing one
 * model against one node, each in a fresh process. End-of-text is forbidden
 * (min_new_tokens 64) so every run makes exactly 64 tokens.
 *
 *     npm run bench:generate [-- --runs 5] [-- --model <folder>]
 *
 * Timings are the median of the runs (best in brackets), the variants interleaved run by
 * run; the machine may be shared, so run it twice and compare before trusting a ratio.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { TextGenerator } from '../lib/generation/generator';
import { loadLocalModel, type LocalModelSpec } from '../lib/generation/model-loader';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions, type GenerationOptions } from '../lib/generation/options';
import { loadTransformers, withTransformersEnv } from '../lib/generation/transformers';
import generateTextNode from '../nodes/generate-text/generate-text';
import llmNode from '../nodes/llm/llm';

const ROOT = resolve(__dirname, '..', '..');
const NEW_TOKENS = 64;
/** 16 GPT-2 tokens, the prompt of the PyTorch reference (bench/generate_torch.py). */
const PROMPT = 'Write a short welcome email for Anna, a new customer in Berlin who loves coffee';

const TARGETS = {
  greedyVsPipeline: 1.0,
  sampledVsPipeline: 2.0,
  sampledVsOurGreedy: 0.85,
  vsPyTorch: 3.0,
  fiveNodesMemory: 1.1,
};

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const modelDir = resolve(argument('model', join(ROOT, 'bench', '.models', 'gpt2-small-random')));
const runs = Math.max(1, Number(argument('runs', '3')));

/** msg.options for the node; resolved the same way for the lib loop. */
const GREEDY = { do_sample: false, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS };
const SAMPLED = { do_sample: true, top_k: 50, top_p: 0.95, temperature: 1, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, seed: 1 };
const greedy = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, GREEDY);
const sampled = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, SAMPLED);

interface Timing {
  tokensPerSecond: number[];
  firstTokenMs: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

type Run = () => Promise<[number, number]>;

/**
 * One warm-up each, then `runs` rounds in which every variant runs once in turn, so that
 * a burst of load from other processes on a shared machine hits every variant alike.
 * A run returns [new tokens, first-token ms].
 */
async function measureInterleaved<K extends string>(variants: Record<K, Run>): Promise<Record<K, Timing>> {
  const names = Object.keys(variants) as K[];
  const timings = {} as Record<K, Timing>;
  for (const name of names) {
    await variants[name]();
    timings[name] = { tokensPerSecond: [], firstTokenMs: [] };
  }
  for (let i = 0; i < runs; i++) {
    for (const name of names) {
      const started = performance.now();
      const [tokens, firstTokenMs] = await variants[name]();
      const seconds = (performance.now() - started) / 1000;
      if (tokens !== NEW_TOKENS) throw new Error(`${name}: expected ${NEW_TOKENS} new tokens, got ${tokens}`);
      timings[name].tokensPerSecond.push(tokens / seconds);
      timings[name].firstTokenMs.push(firstTokenMs);
    }
  }
  return timings;
}

function libRun(generator: TextGenerator, options: GenerationOptions): Run {
  return async () => {
    const started = performance.now();
    let firstTokenMs = Number.NaN;
    const result = await generator.generate([PROMPT], options, {
      onProgress: (progress) => {
        if (progress.newTokens === 1) firstTokenMs = performance.now() - started;
      },
    });
    return [result.prompts[0].sequences[0].newTokens, firstTokenMs];
  };
}

type Pipeline = ((text: string, options: Record<string, unknown>) => Promise<unknown>) & {
  tokenizer: { encode(text: string, pair: null, options: object): number[] };
  dispose(): Promise<void>;
};

/** transformers.js calls `callback_function` once per step: it counts tokens and times the first. */
function pipelineRun(pipe: Pipeline, sample: boolean): Run {
  return async () => {
    const started = performance.now();
    let firstTokenMs = Number.NaN;
    let steps = 0;
    await pipe(PROMPT, {
      max_new_tokens: NEW_TOKENS,
      min_new_tokens: NEW_TOKENS,
      do_sample: sample,
      top_k: 50,
      top_p: 0.95, // stored, never applied by transformers.js 2.17
      return_full_text: false,
      callback_function: () => {
        if (steps++ === 0) firstTokenMs = performance.now() - started;
      },
    });
    return [steps, firstTokenMs];
  };
}

/** The generate-text node in the Node-RED runtime: time from message in to message out. */
function nodeRun(options: Record<string, unknown>): Run {
  return async () => {
    const output = new Promise<Record<string, unknown>>((resolve) => helper.getNode('out').once('input', resolve));
    helper.getNode('gen').receive({ prompt: PROMPT, options });
    const msg = await output;
    return [(msg.generation as { newTokens: number }).newTokens, Number.NaN];
  };
}

function flow(nodes: number): unknown[] {
  const generateNodes = Array.from({ length: nodes }, (_, i) => ({
    id: i === 0 ? 'gen' : `gen${i}`,
    z: 'tab',
    x: 100,
    y: 40 + 40 * i,
    type: 'marketing-generate-text',
    llm: 'llm',
    timeout: 0,
    wires: [['out']],
  }));
  return [
    { id: 'tab', type: 'tab' },
    { id: 'llm', type: 'marketing-llm', source: 'folder', folder: modelDir },
    ...generateNodes,
    { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
  ];
}

async function startRuntime(nodes: number): Promise<void> {
  helper.init(require.resolve('node-red'));
  helper.settings({ userDir: tmpdir(), logging: { console: { level: 'off' } } });
  await helper.load([llmNode, generateTextNode], flow(nodes));
  const output = new Promise((resolve) => helper.getNode('out').once('input', resolve));
  // The first message waits for the model to load.
  helper.getNode('gen').receive({ prompt: PROMPT, options: { max_new_tokens: 1 } });
  await output;
}

/** Child mode: a runtime with `nodes` generate-text nodes on one model, one text from each. */
async function memoryChild(nodes: number): Promise<void> {
  await startRuntime(nodes);
  const received: unknown[] = [];
  helper.getNode('out').on('input', (msg: unknown) => received.push(msg));
  for (let i = 0; i < nodes; i++) {
    helper.getNode(i === 0 ? 'gen' : `gen${i}`).receive({ prompt: PROMPT, options: { max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, seed: i } });
  }
  while (received.length < nodes) await new Promise((resolve) => setTimeout(resolve, 20));
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  await helper.unload();
  process.stdout.write(JSON.stringify({ nodes, maxRssMB }));
}

function memoryOf(nodes: number): number {
  const child = spawnSync(process.execPath, [__filename, '--memory', String(nodes), '--model', modelDir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`memory run with ${nodes} nodes failed: ${child.stderr}`);
  return (JSON.parse(child.stdout.slice(child.stdout.lastIndexOf('{'))) as { maxRssMB: number }).maxRssMB;
}

interface TorchResult {
  torch: string;
  threads: number;
  loaded_blas: string[];
  torch_build_blas_info: string | null;
  greedy: { tokens_per_second: number; time_to_first_token_ms: number };
  sampled: { tokens_per_second: number; time_to_first_token_ms: number };
}

function pyTorchReference(): TorchResult | string {
  const script = join(ROOT, 'bench', 'generate_torch.py');
  if (!existsSync(script)) return 'bench/generate_torch.py not found';
  if (!existsSync(join(modelDir, 'pytorch_model.pt'))) return `${modelDir}/pytorch_model.pt not found`;
  try {
    const out = execFileSync(process.env.PYTHON ?? '/usr/bin/python3', [script, modelDir, '--json', '--runs', String(runs)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out.slice(out.indexOf('{'))) as TorchResult;
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

const format = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function row(name: string, timing: Timing | undefined): string {
  if (!timing) return `  ${name.padEnd(42)} ${'-'.padStart(16)}`;
  const { tokensPerSecond: tps, firstTokenMs } = timing;
  const rate = `${format(median(tps))} (${format(Math.max(...tps))})`;
  return `  ${name.padEnd(42)} ${rate.padStart(16)}   ${format(median(firstTokenMs), 0).padStart(6)} ms`;
}

function ratio(name: string, value: number, target: number, atMost = false): string {
  const met = atMost ? value <= target : value >= target;
  return `  ${name.padEnd(52)} ${format(value, 2).padStart(6)}x   target ${atMost ? '<=' : '>='} ${target}x   ${met ? 'met' : 'MISSED'}`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--memory')) {
    await memoryChild(Number(argument('memory', '1')));
    return;
  }
  if (!existsSync(join(modelDir, 'onnx', 'decoder_model_merged_quantized.onnx'))) {
    console.error(`No benchmark model in ${modelDir}: build it with \`npm run bench:model\` (or pass --model <folder>).`);
    process.exit(1);
  }
  console.log(`bench:generate: ${modelDir}, ${NEW_TOKENS} new tokens from a 16-token prompt, ${runs} runs each`);

  await loadTransformers();
  const spec: LocalModelSpec = { source: 'folder', location: modelDir, quantized: true, allowDownloads: false, cacheDir: '', remoteHost: '' };
  let started = performance.now();
  const generator = await loadLocalModel(spec, () => undefined);
  const ourLoadMs = performance.now() - started;

  const localSettings = { allowLocalModels: true, allowRemoteModels: false, useFSCache: false, localModelPath: join(modelDir, '..') + '/' };
  started = performance.now();
  const pipe = (await withTransformersEnv(localSettings, (transformers) =>
    transformers.pipeline('text-generation', basename(modelDir), { quantized: true }),
  )) as unknown as Pipeline;
  const pipelineLoadMs = performance.now() - started;
  const promptTokens = pipe.tokenizer.encode(PROMPT, null, { add_special_tokens: false }).length;

  await startRuntime(1);
  const results = await measureInterleaved({
    libGreedy: libRun(generator, greedy),
    pipelineGreedy: pipelineRun(pipe, false),
    nodeGreedy: nodeRun(GREEDY),
    libSampled: libRun(generator, sampled),
    pipelineSampled: pipelineRun(pipe, true),
    nodeSampled: nodeRun(SAMPLED),
  });
  await helper.unload();
  await pipe.dispose();
  await generator.dispose();

  const torch = pyTorchReference();
  const oneNodeMB = memoryOf(1);
  const fiveNodesMB = memoryOf(5);

  console.log(`\nprompt ${promptTokens} tokens; tokens/s median (best) of ${runs} runs; time to first token median`);
  console.log(row('our node, greedy', results.nodeGreedy));
  console.log(row('our node, sampled (top_k 50, top_p .95)', results.nodeSampled));
  console.log(row('our lib loop, greedy', results.libGreedy));
  console.log(row('our lib loop, sampled', results.libSampled));
  console.log(row('transformers.js pipeline, greedy', results.pipelineGreedy));
  console.log(row('transformers.js pipeline, sampled', results.pipelineSampled));
  if (typeof torch === 'string') {
    console.log(`  PyTorch reference: not run (${torch})`);
  } else {
    const torchTiming = (r: { tokens_per_second: number; time_to_first_token_ms: number }): Timing => ({
      tokensPerSecond: [r.tokens_per_second],
      firstTokenMs: [r.time_to_first_token_ms],
    });
    console.log(row(`PyTorch ${torch.torch} fp32 greedy (best)`, torchTiming(torch.greedy)));
    console.log(row(`PyTorch ${torch.torch} fp32 sampled (best)`, torchTiming(torch.sampled)));
    console.log(`    (${torch.threads} threads, BLAS: build ${torch.torch_build_blas_info}, loaded ${torch.loaded_blas.join(', ') || 'none found'})`);
  }
  console.log(`\n  model load: ours ${format(ourLoadMs, 0)} ms, pipeline ${format(pipelineLoadMs, 0)} ms`);
  console.log(`  peak RSS: one node ${format(oneNodeMB, 0)} MB, five nodes sharing the model ${format(fiveNodesMB, 0)} MB`);

  const m = (timing: Timing): number => median(timing.tokensPerSecond);
  console.log('\nratios (medians)');
  console.log(ratio('our lib greedy / pipeline greedy', m(results.libGreedy) / m(results.pipelineGreedy), TARGETS.greedyVsPipeline));
  console.log(ratio('our node greedy / pipeline greedy', m(results.nodeGreedy) / m(results.pipelineGreedy), TARGETS.greedyVsPipeline));
  console.log(ratio('our lib sampled / pipeline sampled', m(results.libSampled) / m(results.pipelineSampled), TARGETS.sampledVsPipeline));
  console.log(ratio('our node sampled / pipeline sampled', m(results.nodeSampled) / m(results.pipelineSampled), TARGETS.sampledVsPipeline));
  console.log(ratio('our lib sampled / our lib greedy', m(results.libSampled) / m(results.libGreedy), TARGETS.sampledVsOurGreedy));
  if (typeof torch !== 'string') {
    console.log(ratio('our lib greedy / PyTorch greedy', m(results.libGreedy) / torch.greedy.tokens_per_second, TARGETS.vsPyTorch));
    console.log(ratio('our lib sampled / PyTorch sampled', m(results.libSampled) / torch.sampled.tokens_per_second, TARGETS.vsPyTorch));
  }
  console.log(ratio('five nodes / one node, peak RSS', fiveNodesMB / oneNodeMB, TARGETS.fiveNodesMemory, true));
  console.log('\nNote: on a shared or busy machine single runs can differ by 2x; the variants are interleaved run by');
  console.log('run so the ratios of medians are steadier than the rates. Run it twice before trusting a ratio.');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
