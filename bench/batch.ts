/**
 * `npm run bench:batch`: continuous batching across messages (lib/generation/batch-decoder.ts)
 * against one message at a time, in one process, on the bundled demo model (or --model
 * <folder>, such as the GPT-2-small-shaped bench/.models/gpt2-small-random of `npm run
 * bench:model`).
 *
 * - Concurrency: 16 messages sent at once to the shared model (as 16 generate-text nodes or
 *   messages would), 64 new tokens each (end-of-text forbidden until then), sampled with
 *   top_k 50 / top_p 0.95, no seed: tokens per second of all messages together, batching off
 *   (batch rows 1) and on (batch rows 16).
 * - Latency: one message alone, same options, through today's loop (the generator's own
 *   `generate`, what batching off runs) and through the batch, on the same onnxruntime
 *   session so that only the code path differs.
 *
 * The two settings are two shared models in the same process, run in turns (off, on, on,
 * off, ...) so that load from other processes hits both alike; medians of the runs, and the
 * machine's load average before and after.
 *
 *     npm run bench:batch [-- --runs 5] [-- --messages 16] [-- --rows 16] [-- --model <folder>]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import type { GenerationResult } from '../lib/generation/generator';
import { loadLocalModel, type LocalModelSpec } from '../lib/generation/model-loader';
import { ModelRegistry, type SharedModel } from '../lib/generation/model-registry';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions, type GenerationOptions } from '../lib/generation/options';

const NEW_TOKENS = 64;

const TARGETS = { throughput: 3.0, loneLatency: 1.1 };

/** Prompts of different lengths (4 to 20 tokens), as a campaign's would be. */
const PROMPTS = [
  'Write a short welcome email for Anna, a new customer in Berlin who loves coffee',
  'Spring is here',
  'Subject line for a summer sale on shoes:',
  'Dear Li Wei, thank you for your order of green tea. We',
  'Hello',
  'Our new collection of bags is here and',
  'Write a reminder email for Tom about his abandoned cart with 2 items',
  'Thank you.',
  '写一封欢迎邮件给新客户王芳',
  'Write a birthday email for Maria with a 10% discount code',
  'Subject: Your cart is waiting',
  'We miss you, John! Come back for',
  'Write a short email announcing free shipping this weekend',
  'Hi Sara,',
  'Write a thank-you email for a loyal customer in Paris who buys tea every month',
  'New arrivals:',
];

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const runs = Math.max(1, Number(argument('runs', '3')));
const messages = Math.max(1, Number(argument('messages', '16')));
const rows = Math.max(2, Number(argument('rows', '16')));
const modelFolder = argument('model', '');

const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, {
  do_sample: true,
  top_k: 50,
  top_p: 0.95,
  temperature: 1,
  max_new_tokens: NEW_TOKENS,
  min_new_tokens: NEW_TOKENS,
});

function spec(batchRows: number): LocalModelSpec {
  const base = { quantized: true, allowDownloads: false, cacheDir: '', remoteHost: '', batchRows };
  return modelFolder ? { source: 'folder', location: resolve(modelFolder), ...base } : { source: 'bundled', location: '', ...base };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const newTokens = (result: GenerationResult): number =>
  result.prompts.reduce((sum, prompt) => sum + prompt.sequences.reduce((n, sequence) => n + sequence.newTokens, 0), 0);

/** `messages` messages at once: tokens per second of all of them together. */
async function concurrent(model: SharedModel): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: messages }, (_, i) => model.generate([PROMPTS[i % PROMPTS.length]], options)));
  const seconds = (performance.now() - started) / 1000;
  const tokens = results.reduce((sum, result) => sum + newTokens(result), 0);
  if (tokens !== messages * NEW_TOKENS) throw new Error(`expected ${messages * NEW_TOKENS} new tokens, got ${tokens}`);
  return tokens / seconds;
}

/** One message alone: milliseconds from the call to its text. */
async function lone(generate: (prompts: string[], options: GenerationOptions) => Promise<GenerationResult>, prompt: string): Promise<number> {
  const started = performance.now();
  const result = await generate([prompt], options);
  if (newTokens(result) !== NEW_TOKENS) throw new Error(`expected ${NEW_TOKENS} new tokens, got ${newTokens(result)}`);
  return performance.now() - started;
}

const format = (n: number, digits = 1): string => n.toFixed(digits);
const load = (): string => loadavg().map((n) => n.toFixed(2)).join(' / ');

function ratio(name: string, value: number, target: number, atMost = false): string {
  const met = atMost ? value <= target : value >= target;
  return `  ${name.padEnd(46)} ${format(value, 2).padStart(6)}x   target ${atMost ? '<=' : '>='} ${target}x   ${met ? 'met' : 'MISSED'}`;
}

async function main(): Promise<void> {
  const registry = new ModelRegistry((modelSpec) => loadLocalModel(modelSpec as LocalModelSpec, () => undefined));
  const offLease = registry.acquire(spec(1));
  const onLease = registry.acquire(spec(rows));
  const off = offLease.model;
  const on = onLease.model;
  const [, generator] = await Promise.all([off.load(), on.load()]);
  if (!generator.batching) throw new Error(`${on.name} cannot batch (its graph takes no position_ids)`);
  const alone = (prompts: string[], opts: GenerationOptions) => generator.generate(prompts, opts);
  const batched = (prompts: string[], opts: GenerationOptions) => on.generate(prompts, opts);
  console.log(`bench:batch: ${off.name}, ${messages} messages at once, ${NEW_TOKENS} new tokens each, sampled (top_k 50, top_p 0.95, no seed)`);
  console.log(`batching off: one message at a time; on: up to ${rows} rows in one batch; ${runs} runs each, in turns`);
  console.log(`load average (1 / 5 / 15 min) before: ${load()}`);

  // Warm-up: the first passes of a session are slower (allocations, thread pool start).
  await concurrent(off);
  await concurrent(on);

  const throughput = { off: [] as number[], on: [] as number[] };
  const latency = { off: [] as number[], on: [] as number[] };
  // In turns, each first every other round: off, on, on, off, ...
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) throughput.off.push(await concurrent(off));
    throughput.on.push(await concurrent(on));
    if (i % 2 === 1) throughput.off.push(await concurrent(off));
  }
  for (let i = 0; i < runs * 4; i++) {
    const prompt = PROMPTS[i % PROMPTS.length];
    if (i % 2 === 0) latency.off.push(await lone(alone, prompt));
    latency.on.push(await lone(batched, prompt));
    if (i % 2 === 1) latency.off.push(await lone(alone, prompt));
  }
  const after = load();
  await offLease.release();
  await onLease.release();

  const m = median;
  console.log(`\n${messages} concurrent messages, tokens/s of all together: median (best) of ${runs}`);
  console.log(`  batching off   ${format(m(throughput.off)).padStart(8)} (${format(Math.max(...throughput.off))})`);
  console.log(`  batching on    ${format(m(throughput.on)).padStart(8)} (${format(Math.max(...throughput.on))})`);
  console.log(`\none message alone, ms to its ${NEW_TOKENS} tokens: median (best) of ${runs * 4}`);
  console.log(`  today's loop   ${format(m(latency.off), 0).padStart(8)} (${format(Math.min(...latency.off), 0)})`);
  console.log(`  the batch      ${format(m(latency.on), 0).padStart(8)} (${format(Math.min(...latency.on), 0)})`);
  console.log(`\npeak RSS of this process (both models loaded): ${format(process.resourceUsage().maxRSS / 1024, 0)} MB`);
  console.log(`load average (1 / 5 / 15 min) after: ${after}`);
  console.log('\nratios (medians)');
  console.log(ratio(`${messages} messages: tokens/s on / off`, m(throughput.on) / m(throughput.off), TARGETS.throughput));
  console.log(ratio('one message: latency batch / today', m(latency.on) / m(latency.off), TARGETS.loneLatency, true));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
