/**
 * What a text generation backend offers, whatever runs the model: the in-process ONNX
 * decoder (`OnnxTextGenerator`) or an inference server over the OpenAI-compatible HTTP API
 * (`OpenAiTextGenerator`). Nodes and benchmarks depend on this interface only.
 */
import { MarketingError } from '../errors';
import type { GenerationOptions } from './options';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GeneratedText {
  text: string;
  /** Tokens the model produced for this text, the end-of-text token included. */
  newTokens: number;
  /** eos: the model ended the text; stop: a stop string was reached; length: max_new_tokens (or max_length). */
  finishReason: FinishReason;
}

export interface PromptGeneration {
  /** num_return_sequences texts, in order. */
  sequences: GeneratedText[];
  /** Prompt tokens given to the model (after truncation). */
  promptTokens: number;
  /** Whether the start of the prompt was cut to fit the model's positions. */
  truncatedPrompt: boolean;
}

export interface GenerationResult {
  /** The model's name as configured (hub id, folder or `demo-gpt2`). */
  model: string;
  /** The seed used: the requested one, or the one drawn for this request. */
  seed: number;
  /** One entry per prompt, in order. */
  prompts: PromptGeneration[];
  durationMs: number;
}

export interface GenerationProgress {
  /** Index of the prompt being generated and the number of prompts. */
  prompt: number;
  prompts: number;
  /** Steps done for this prompt and the most it can take. */
  newTokens: number;
  maxNewTokens: number;
}

/**
 * Runs one unit of a backend's work when the shared model's queue gives it a turn: in
 * arrival order, at most the backend's `concurrency` units at once across every user of
 * the model. An abort of `signal` (default: the request's) takes a waiting unit out.
 */
export type WorkQueue = <T>(job: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** The queue of a generator used on its own (tests, benchmarks): every unit runs at once. */
export const runAtOnce: WorkQueue = (job) => job();

export interface GenerationControl {
  /** Checked between two decoding steps (or aborts a request); the generation rejects with `signal.reason`. */
  signal?: AbortSignal;
  onProgress?: (progress: GenerationProgress) => void;
  /** Where the backend queues its units of work (a whole request, or one HTTP call per prompt). */
  queue?: WorkQueue;
}

/** A request's control when the backend queues it itself: `onStart` when its first unit of work starts. */
export interface RequestControl extends GenerationControl {
  onStart?: () => void;
}

/**
 * Continuous batching across requests (the local ONNX backend): the requests it accepts
 * decode as rows of one shared batch, queued and started by it rather than by a WorkQueue.
 */
export interface ContinuousBatching {
  /** The most rows the shared batch decodes at once. */
  readonly maxRows: number;
  /** Whether a request with these options joins the shared batch; the others go through the model's queue one at a time. */
  accepts(options: GenerationOptions): boolean;
  generate(prompts: readonly string[], options: GenerationOptions, control?: RequestControl): Promise<GenerationResult>;
  /** Rows decoding now in the shared batch. */
  readonly rowsDecoding: number;
  /** Requests waiting to start (none of their prompts admitted yet). */
  readonly waitingCount: number;
  /** Resolves when nothing decodes and nothing waits. */
  whenIdle(): Promise<void>;
  /** Called when rows join or leave the batch, or requests start waiting (for status displays). */
  onChange: (() => void) | undefined;
}

export interface TextGenerator {
  readonly name: string;
  /** The model's context size (prompt + new tokens), when it has one. */
  readonly maxPositions: number;
  /** How many units of work (`control.queue` jobs) the backend serves at once with profit. */
  readonly concurrency: number;
  generate(prompts: readonly string[], options: GenerationOptions, control?: GenerationControl): Promise<GenerationResult>;
  /** Present when the backend batches requests itself (see ContinuousBatching). */
  readonly batching?: ContinuousBatching;
  /** Frees what the backend holds (sessions, connections); the generator is unusable after. */
  dispose(): Promise<void>;
}

/** The error a generation ends with when its signal is aborted without a reason of its own. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  if (signal.reason instanceof Error) throw signal.reason;
  throw new MarketingError('cancelled', 'The generation was cancelled.');
}

/** Prompt number `index + 1` has nothing to continue (empty, blank, or no tokens). */
export function emptyPromptError(index: number): MarketingError {
  return new MarketingError('emptyPrompt', `Prompt ${index + 1} is empty: there is nothing to continue.`, { index: index + 1 });
}

/** Fails a prompt that is not a string or is blank, before any work is spent on it. */
export function checkPromptNotEmpty(prompt: unknown, index: number): void {
  if (typeof prompt !== 'string' || prompt.trim() === '') throw emptyPromptError(index);
}
