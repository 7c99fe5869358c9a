/**
 * Continuous batching for the in-process ONNX model: every request the shared batch accepts
 * (unseeded ones, see `OnnxTextGenerator`) decodes as rows of one batch, so that one
 * forward pass (one read of the weights) serves many messages.
 *
 * - A prompt is prefilled on its own (a forward pass of [1, prompt tokens], exactly as when
 *   it decodes alone) between two steps of the batch, and its rows join the batch at the
 *   next step. Nothing waits for companions: a lone prompt starts at once.
 * - Rows of different lengths share one key/value cache [rows, heads, width, headDim]
 *   whose width is the longest row's: a shorter row is left-padded with zero keys that its
 *   attention_mask hides (0), and gets its own position_ids. The batched cache is rebuilt
 *   only when rows join or leave; between those steps the model's `present` output is fed
 *   back as it is.
 * - A row leaves as soon as it ends (end-of-text, stop string), a prompt's rows when it
 *   reaches its length, a request's rows when its signal aborts (timeout, close); the
 *   others go on.
 * - At most `maxRows` rows decode at once. Prompts start in arrival order: the first
 *   waiting prompt that does not fit holds the ones behind it (a prompt with more rows than
 *   the maximum starts alone). The key/value cache of one row takes
 *   2 x layers x heads x headDim x 4 bytes per position of the batch's longest row (GPT-2
 *   small: 72 KB, 72 MB at its 1,024 positions; the demo model: 6 KB, 3 MB), held about three
 *   times during a step (the cache fed in, the model's `present` out, a rebuild), plus
 *   4 x vocabulary bytes of logits (200 KB for GPT-2's 50,257 tokens).
 *
 * Each row keeps its request's options (temperature, top-k, top-p, penalties, stop strings,
 * lengths) and its own random stream (the request's seed, stream = row of its prompt).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { throwIfAborted, type ContinuousBatching, type GeneratedText, type GenerationResult, type PromptGeneration, type RequestControl } from './generator';
import type { DecoderLayout, ForwardOutput, PreparedPrompt, SequenceState } from './onnx-generator';
import { isSampling, type GenerationOptions } from './options';
import { randomSeed } from './random';
import { argmax, processLogits, sampleNextToken } from './sampler';
import type { OrtTensor, TransformersApi } from './transformers';

/** What the batch needs of the generator it decodes for. */
export interface BatchHost {
  readonly name: string;
  readonly layout: DecoderLayout;
  readonly Tensor: TransformersApi['Tensor'];
  preparePrompt(prompt: string, index: number, options: GenerationOptions): PreparedPrompt;
  /** The prompt alone: [1, tokens], no cache. */
  prefill(ids: readonly number[]): Promise<ForwardOutput>;
  /** One token per row; row i has `pasts[i]` real positions at the end of the cache's `width`. */
  step(tokens: readonly number[], pasts: readonly number[], width: number, cache: readonly OrtTensor[]): Promise<ForwardOutput>;
  /** A prompt's sequences before their first token, drawing from the prompt's own stream of `seed`. */
  sequences(prompt: PreparedPrompt, options: GenerationOptions, seed: number): SequenceState[];
  accept(sequence: SequenceState, token: number, stops: readonly string[]): void;
  finish(sequence: SequenceState, prompt: PreparedPrompt, options: GenerationOptions): GeneratedText;
}

/** One message's call: its prompts, the seed its rows draw from, how it ends. */
interface BatchRequest {
  options: GenerationOptions;
  control: RequestControl;
  seed: number;
  results: (PromptGeneration | undefined)[];
  /** Prompts not finished yet (queued or decoding). */
  remaining: number;
  startedAt: number | undefined;
  settled: boolean;
  resolve: (result: GenerationResult) => void;
  reject: (err: unknown) => void;
  removeAbortListener: () => void;
}

/** One prompt of a request: its rows decode together from one prefill. */
interface PromptJob {
  request: BatchRequest;
  index: number;
  prompt: PreparedPrompt;
  /** Rows: num_return_sequences when sampling, else 1. */
  width: number;
  sequences: SequenceState[];
  /** Tokens chosen so far for each row (the steps done). */
  produced: number;
}

/** A row of the batch: one sequence, the token it feeds next and where its cache is. */
interface BatchRow {
  job: PromptJob;
  sequence: SequenceState;
  /** The token chosen last, fed at the next step. */
  next: number;
  /** Real positions in its cache (prompt + fed tokens). */
  past: number;
  /** The cache tensors holding its keys and values, its row in them; its positions are the last `past`. */
  source: readonly OrtTensor[];
  sourceRow: number;
}

/**
 * The cache of `rows`, each left-padded to `width` positions with zeros (which the
 * attention mask hides). Every layer's key and value tensor is [rows, heads, width, headDim].
 */
export function gatherCache(Tensor: TransformersApi['Tensor'], rows: readonly BatchRow[], width: number, tensors: number): OrtTensor[] {
  const cache: OrtTensor[] = [];
  for (let t = 0; t < tensors; t++) {
    const [, heads, , headDim] = rows[0].source[t].dims;
    const data = new Float32Array(rows.length * heads * width * headDim);
    rows.forEach((row, i) => {
      const source = row.source[t];
      const sourceWidth = source.dims[2];
      const values = source.data as Float32Array;
      const length = row.past * headDim;
      for (let h = 0; h < heads; h++) {
        const from = ((row.sourceRow * heads + h) * sourceWidth + sourceWidth - row.past) * headDim;
        const to = ((i * heads + h) * width + width - row.past) * headDim;
        data.set(values.subarray(from, from + length), to);
      }
    });
    cache.push(new Tensor('float32', data, [rows.length, heads, width, headDim]));
  }
  return cache;
}

/** The logits of the last position of batch row `row`, as a view into the output. */
function lastLogits(logits: OrtTensor, row: number): Float32Array {
  const [, length, vocab] = logits.dims;
  const offset = (row * length + length - 1) * vocab;
  return (logits.data as Float32Array).subarray(offset, offset + vocab);
}

export class ContinuousBatcher implements ContinuousBatching {
  /** Prompts waiting to be prefilled, in arrival order. */
  private readonly queue: PromptJob[] = [];
  private rows: BatchRow[] = [];
  /** The batch's cache when it matches `rows` (no row joined or left since the last step). */
  private cache: readonly OrtTensor[] | undefined;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  onChange: (() => void) | undefined;

  constructor(
    private readonly host: BatchHost,
    readonly maxRows: number,
  ) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, not ${maxRows}`);
  }

  /** Unseeded requests share the batch; a seeded one decodes with its own rows only (see OnnxTextGenerator). */
  accepts(options: GenerationOptions): boolean {
    return options.seed === undefined;
  }

  get rowsDecoding(): number {
    return this.rows.length;
  }

  get waitingCount(): number {
    return new Set(this.queue.filter((job) => job.request.startedAt === undefined).map((job) => job.request)).size;
  }

  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  generate(prompts: readonly string[], options: GenerationOptions, control: RequestControl = {}): Promise<GenerationResult> {
    return new Promise<GenerationResult>((resolve, reject) => {
      const { signal } = control;
      let prepared: PreparedPrompt[];
      try {
        throwIfAborted(signal);
        // Every prompt is checked before any work, so a bad one fails the request at once.
        prepared = prompts.map((prompt, index) => this.host.preparePrompt(prompt, index, options));
      } catch (err) {
        reject(err);
        return;
      }
      const onAbort = (): void => this.abortRequest(request);
      const request: BatchRequest = {
        options,
        control,
        seed: options.seed ?? randomSeed(),
        results: prepared.map(() => undefined),
        remaining: prepared.length,
        startedAt: undefined,
        settled: false,
        resolve,
        reject,
        removeAbortListener: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const sampling = isSampling(options);
      for (const [index, prompt] of prepared.entries()) {
        const width = sampling ? options.num_return_sequences : 1;
        this.queue.push({ request, index, prompt, width, sequences: [], produced: 0 });
      }
      if (!this.running) void this.run();
      this.changed();
    });
  }

  private changed(): void {
    try {
      this.onChange?.();
    } catch {
      // A status display must not stop the decoding.
    }
  }

  /** A request that has not started leaves the queue at once; a started one leaves the batch before the next step. */
  private abortRequest(request: BatchRequest): void {
    if (request.startedAt !== undefined || request.settled) return;
    this.removeQueued(request);
    this.fail(request, abortReason(request.control.signal));
  }

  private removeQueued(request: BatchRequest): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].request === request) this.queue.splice(i, 1);
  }

  private fail(request: BatchRequest, err: unknown): void {
    if (request.settled) return;
    request.settled = true;
    request.removeAbortListener();
    this.removeQueued(request);
    this.removeRows((row) => row.job.request === request);
    request.reject(err);
  }

  private removeRows(leaves: (row: BatchRow) => boolean): void {
    const kept = this.rows.filter((row) => !leaves(row));
    if (kept.length === this.rows.length) return;
    this.rows = kept;
    this.cache = undefined;
    this.changed();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 || this.rows.length > 0) {
        // onnxruntime-node runs a pass synchronously: a turn of the event loop between passes
        // keeps Node-RED (editor, HTTP, timers, other flows) alive and lets messages arrive.
        await yieldToEventLoop();
        try {
          this.dropAborted();
          await this.admit();
          if (this.rows.length > 0) await this.step();
        } catch (err) {
          // Not the model's failure (those fail their requests): a progress callback or the
          // tokenizer threw. No request may be left waiting for a loop that has stopped.
          const requests = new Set([...this.rows.map((row) => row.job.request), ...this.queue.map((job) => job.request)]);
          for (const request of requests) this.fail(request, err);
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Requests whose signal aborted (timeout, close) leave with its reason. */
  private dropAborted(): void {
    const aborted = new Set<BatchRequest>();
    for (const row of this.rows) if (row.job.request.control.signal?.aborted) aborted.add(row.job.request);
    for (const job of this.queue) if (job.request.control.signal?.aborted) aborted.add(job.request);
    for (const request of aborted) this.fail(request, abortReason(request.control.signal));
  }

  /** Prefills waiting prompts, in order, while their rows fit; each joins the batch at the next step. */
  private async admit(): Promise<void> {
    while (this.queue.length > 0) {
      const job = this.queue[0];
      if (this.rows.length > 0 && this.rows.length + job.width > this.maxRows) return;
      this.queue.shift();
      const { request } = job;
      if (request.settled) continue;
      if (request.startedAt === undefined) {
        request.startedAt = performance.now();
        request.control.onStart?.();
      }
      if (this.rows.length > 0) {
        // Between two passes: the batch has just run one, let the event loop turn first.
        await yieldToEventLoop();
        this.dropAborted();
        if (request.settled) continue;
      }
      try {
        await this.prefill(job);
      } catch (err) {
        this.fail(request, err);
      }
    }
  }

  private async prefill(job: PromptJob): Promise<void> {
    const { request, prompt } = job;
    // The same rows and random streams as OnnxTextGenerator's (a replay gives the same text).
    job.sequences = this.host.sequences(prompt, request.options, request.seed);
    const output = await this.host.prefill(prompt.ids);
    if (request.settled) return;
    const logits = lastLogits(output.logits, 0);
    // One prefill serves every row of the prompt: its last logits are copied per row.
    const chosen = this.choose(
      job,
      job.sequences,
      job.sequences.map(() => (job.width > 1 ? logits.slice() : logits)),
    );
    if (this.jobEnded(job)) return;
    job.sequences.forEach((sequence, i) => {
      if (sequence.finishReason) return;
      this.rows.push({ job, sequence, next: chosen[i], past: prompt.ids.length, source: output.present, sourceRow: 0 });
    });
    this.cache = undefined;
    this.changed();
  }

  /** The next token of each of `sequences` (the unfinished rows of `job`) from its logits, in order. */
  private choose(job: PromptJob, sequences: readonly SequenceState[], logitsRows: readonly Float32Array[]): number[] {
    const { options } = job.request;
    job.produced++;
    const suppressed = job.produced <= job.prompt.budget.minNewTokens ? this.host.layout.eosIds : [];
    return sequences.map((sequence, i) => {
      const logits = logitsRows[i];
      processLogits(logits, sequence.history, { repetition_penalty: options.repetition_penalty, suppressed });
      const token = sequence.random ? sampleNextToken(logits, options, sequence.random) : argmax(logits);
      this.host.accept(sequence, token, options.stop);
      return token;
    });
  }

  /** After a prompt's step: reports progress and, when the prompt is over, completes it. */
  private jobEnded(job: PromptJob): boolean {
    const { request } = job;
    try {
      request.control.onProgress?.({
        prompt: job.index,
        prompts: request.results.length,
        newTokens: job.produced,
        maxNewTokens: job.prompt.budget.maxNewTokens,
      });
    } catch (err) {
      // A failing progress callback ends its own message, as it would without batching.
      this.fail(request, err);
    }
    if (request.settled) return true;
    const over = job.produced >= job.prompt.budget.maxNewTokens || job.sequences.every((sequence) => sequence.finishReason);
    if (!over) return false;
    this.removeRows((row) => row.job === job);
    request.results[job.index] = {
      sequences: job.sequences.map((sequence) => this.host.finish(sequence, job.prompt, request.options)),
      promptTokens: job.prompt.ids.length,
      truncatedPrompt: job.prompt.truncated,
    };
    if (--request.remaining === 0) {
      request.settled = true;
      request.removeAbortListener();
      request.resolve({
        model: this.host.name,
        seed: request.seed,
        prompts: request.results as PromptGeneration[],
        durationMs: performance.now() - (request.startedAt ?? performance.now()),
      });
    }
    return true;
  }

  /** One forward pass for every row, a token for each, then the rows that ended leave. */
  private async step(): Promise<void> {
    const rows = this.rows;
    const width = Math.max(...rows.map((row) => row.past));
    const cache = this.cache ?? gatherCache(this.host.Tensor, rows, width, this.host.layout.pastInputs.length);
    let output;
    try {
      output = await this.host.step(
        rows.map((row) => row.next),
        rows.map((row) => row.past),
        width,
        cache,
      );
    } catch (err) {
      for (const request of new Set(rows.map((row) => row.job.request))) this.fail(request, err);
      return;
    }
    rows.forEach((row, i) => {
      row.past++;
      row.source = output.present;
      row.sourceRow = i;
    });
    this.cache = output.present;
    // Rows grouped by prompt, in batch order: each prompt chooses its tokens as one step.
    const jobs = [...new Set(rows.map((row) => row.job))];
    for (const job of jobs) {
      if (job.request.settled) continue;
      const indexes: number[] = [];
      rows.forEach((row, i) => row.job === job && indexes.push(i));
      const chosen = this.choose(
        job,
        indexes.map((i) => rows[i].sequence),
        indexes.map((i) => lastLogits(output.logits, i)),
      );
      indexes.forEach((i, k) => (rows[i].next = chosen[k]));
      if (!this.jobEnded(job)) this.removeRows((row) => row.job === job && row.sequence.finishReason !== undefined);
    }
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  try {
    throwIfAborted(signal);
  } catch (err) {
    return err;
  }
  return new Error('aborted');
}
