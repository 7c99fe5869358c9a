/**
 * The decoding loop: transformers.js tokenizes and decodes, onnxruntime runs the model's
 * forward pass with its key/value cache, and this file does the rest (transformers.js
 * 2.17's own `generate` ignores top_p, has no seed, returns one text when sampling several
 * and runs past the model's positions; see issue 4).
 *
 * Per prompt: the prompt is run once (prefill), its cache is copied to one row per
 * requested sequence, then every step feeds the last token of each unfinished sequence as
 * one batch. Rows that finish are dropped from the batch (and from the cache).
 *
 * With continuous batching on (`batchRows` > 1), requests without a seed are decoded
 * together across messages by a ContinuousBatcher (batch-decoder.ts); requests with a seed
 * keep this loop, with rows of their own prompt only: an int8 model quantizes the
 * activations of a whole batch at once, so a row's logits depend on its companions, and a
 * seed promises the same text on every run.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { MarketingError } from '../errors';
import {
  checkPromptNotEmpty,
  emptyPromptError,
  runAtOnce,
  throwIfAborted,
  type FinishReason,
  type GeneratedText,
  type GenerationControl,
  type GenerationResult,
  type PromptGeneration,
  type TextGenerator,
} from './generator';
import { isSampling, lengthBudget, maxLengthNoRoom, maxLengthPromptRoom, type GenerationOptions, type LengthBudget } from './options';
import { randomSeed, seededRandom, type RandomSource } from './random';
import { ContinuousBatcher } from './batch-decoder';
import { argmax, processLogits, sampleNextToken, TokenHistory } from './sampler';
import { findStopString, outputText } from './text';
import type { CausalLanguageModel, OrtTensor, PreTrainedTokenizer, TransformersApi } from './transformers';

/** How a model's graph takes its key/value cache and how long its context is. */
export interface DecoderLayout {
  heads: number;
  headDim: number;
  /** `past_key_values.{i}.key|value` inputs and the matching `present.{i}.key|value` outputs, in layer order. */
  pastInputs: string[];
  presentOutputs: string[];
  positionIds: boolean;
  useCacheBranch: boolean;
  /** Prompt + new tokens may not exceed this (Infinity when the config does not say). */
  maxPositions: number;
  eosIds: number[];
}

/**
 * Prompts longer than this many characters per allowed token are cut (keeping their end)
 * before tokenizing: tokenizing megabytes would block Node-RED's event loop for seconds.
 */
const PROMPT_CHARACTERS_PER_TOKEN = 32;

function incompatible(reason: string): MarketingError {
  return new MarketingError('modelIncompatible', `The model cannot be used for text generation here: ${reason}.`, { reason });
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function tokenIds(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((id): id is number => typeof id === 'number' && Number.isInteger(id) && id >= 0);
}

/** Checks that the model is a decoder-only ONNX graph with a standard key/value cache. */
export function describeDecoder(model: CausalLanguageModel): DecoderLayout {
  const { config, session } = model;
  if (config.is_encoder_decoder) throw incompatible('it is an encoder-decoder model, not a causal language model');
  if (config.model_type === 'bloom' || config.model_type === 'falcon' || config.multi_query) {
    throw incompatible(`the key/value cache layout of model type ${String(config.model_type)} is not supported`);
  }
  for (const name of ['input_ids', 'attention_mask']) {
    if (!session.inputNames.includes(name)) throw incompatible(`its ONNX graph has no ${name} input`);
  }
  const pastInputs = session.inputNames.filter((name) => name.startsWith('past_key_values.'));
  const layers = pastInputs.length / 2;
  const expected = Array.from({ length: layers }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat();
  if (layers < 1 || pastInputs.some((name) => !expected.includes(name))) {
    throw incompatible('its ONNX graph has no past_key_values.{i}.key|value inputs (export it with a key/value cache, "with past")');
  }
  const presentOutputs = expected.map((name) => name.replace('past_key_values', 'present'));
  const missing = presentOutputs.find((name) => !session.outputNames.includes(name));
  if (missing || !session.outputNames.includes('logits')) throw incompatible(`its ONNX graph has no ${missing ?? 'logits'} output`);
  const heads = positiveInteger(model.num_heads);
  const headDim = positiveInteger(model.dim_kv);
  if (!heads || !headDim) throw incompatible('its config does not give the number of attention heads and their size');
  const maxPositions =
    positiveInteger(config.n_positions) ?? positiveInteger(config.max_position_embeddings) ?? positiveInteger(config.n_ctx) ?? Infinity;
  const eosIds = [...new Set([...tokenIds(config.eos_token_id), ...tokenIds(model.generation_config?.eos_token_id)])];
  return {
    heads,
    headDim,
    pastInputs: expected,
    presentOutputs,
    positionIds: session.inputNames.includes('position_ids'),
    useCacheBranch: session.inputNames.includes('use_cache_branch'),
    maxPositions,
    eosIds,
  };
}

export interface PreparedPrompt {
  ids: number[];
  /** The prompt as the model sees it (its end, when it was truncated). */
  text: string;
  truncated: boolean;
  budget: LengthBudget;
}

export interface SequenceState {
  history: TokenHistory;
  random: RandomSource | undefined;
  /** Generated tokens, the end-of-text token excluded. */
  tokens: number[];
  newTokens: number;
  finishReason: FinishReason | undefined;
  /** With stop strings: the continuation decoded so far and where the stop string starts. */
  decoded: string;
  stopAt: number;
}

export interface ForwardOutput {
  logits: OrtTensor;
  present: OrtTensor[];
}

/** Copies batch rows of every cache tensor ([batch, heads, past, headDim]); `rows` may repeat. */
function selectCacheRows(Tensor: TransformersApi['Tensor'], cache: readonly OrtTensor[], rows: readonly number[]): OrtTensor[] {
  return cache.map((tensor) => {
    const [, heads, past, headDim] = tensor.dims;
    const rowSize = heads * past * headDim;
    const source = tensor.data as Float32Array;
    const data = new Float32Array(rows.length * rowSize);
    rows.forEach((row, i) => data.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
    return new Tensor('float32', data, [rows.length, heads, past, headDim]);
  });
}

/** The logits of the last position of batch row `row`, as a view into the output. */
function lastLogits(logits: OrtTensor, row: number): Float32Array {
  const [, length, vocab] = logits.dims;
  const offset = (row * length + length - 1) * vocab;
  return (logits.data as Float32Array).subarray(offset, offset + vocab);
}

export class OnnxTextGenerator implements TextGenerator {
  readonly layout: DecoderLayout;
  /**
   * The shared batch of unseeded requests, when `batchRows` > 1 and the graph takes
   * position_ids (rows of different lengths need their own positions).
   */
  readonly batching: ContinuousBatcher | undefined;

  constructor(
    readonly name: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: CausalLanguageModel,
    readonly Tensor: TransformersApi['Tensor'],
    batchRows = 1,
  ) {
    this.layout = describeDecoder(model);
    this.batching = batchRows > 1 && this.layout.positionIds ? new ContinuousBatcher(this, batchRows) : undefined;
  }

  get maxPositions(): number {
    return this.layout.maxPositions;
  }

  /** onnxruntime uses every core for one forward pass: a second generation at once only slows both. */
  readonly concurrency = 1;

  /** One turn of the queue for the whole request: its prompts run one after the other. */
  generate(prompts: readonly string[], options: GenerationOptions, control: GenerationControl = {}): Promise<GenerationResult> {
    const queue = control.queue ?? runAtOnce;
    return queue(() => this.generateNow(prompts, options, control));
  }

  private async generateNow(prompts: readonly string[], options: GenerationOptions, control: GenerationControl): Promise<GenerationResult> {
    const started = performance.now();
    // Every prompt is checked before any work, so a bad one fails the request at once.
    const prepared = prompts.map((prompt, index) => this.preparePrompt(prompt, index, options));
    const seed = options.seed ?? randomSeed();
    const results: PromptGeneration[] = [];
    for (const [index, prompt] of prepared.entries()) {
      const onStep = (newTokens: number): void =>
        control.onProgress?.({ prompt: index, prompts: prompts.length, newTokens, maxNewTokens: prompt.budget.maxNewTokens });
      results.push(await this.generateForPrompt(prompt, options, seed, onStep, control.signal));
    }
    return { model: this.name, seed, prompts: results, durationMs: performance.now() - started };
  }

  async dispose(): Promise<void> {
    await this.batching?.whenIdle();
    await this.model.dispose();
  }

  /** Tokenizes and checks one prompt against the model's positions and the length options. */
  preparePrompt(prompt: string, index: number, options: GenerationOptions): PreparedPrompt {
    checkPromptNotEmpty(prompt, index);
    const { maxPositions } = this.layout;
    const room = maxLengthPromptRoom(options, maxPositions);
    if (room !== undefined) return this.preparePromptWithin(prompt, index, room, options);
    const maxPromptTokens = maxPositions - options.max_new_tokens;
    const limits = { index: index + 1, max_new_tokens: options.max_new_tokens, n_positions: maxPositions, maxPromptTokens };
    if (maxPromptTokens < 1) {
      throw new MarketingError(
        'maxNewTokensTooLarge',
        `max_new_tokens ${options.max_new_tokens} leaves no room for a prompt in this model's ${maxPositions} positions.`,
        limits,
      );
    }
    const tooLong = (promptTokens: string | number): MarketingError =>
      new MarketingError(
        'promptTooLong',
        `Prompt ${index + 1} has ${promptTokens} tokens; with max_new_tokens ${options.max_new_tokens} the model's ${maxPositions} positions allow ${maxPromptTokens}.`,
        { ...limits, promptTokens },
      );
    let text = prompt;
    const characterBudget = maxPromptTokens * PROMPT_CHARACTERS_PER_TOKEN;
    if (text.length > characterBudget) {
      if (!options.truncate_prompt) throw tooLong(`more than ${maxPromptTokens}`);
      text = text.slice(-characterBudget);
    }
    let ids = this.encode(text, index);
    let truncated = text !== prompt;
    if (ids.length > maxPromptTokens) {
      if (!options.truncate_prompt) throw tooLong(ids.length);
      ids = ids.slice(-maxPromptTokens);
      truncated = true;
    }
    const budget = lengthBudget(options, ids.length, maxPositions, index);
    return { ids, text: truncated ? this.tokenizer.decode(ids, { skip_special_tokens: true }) : prompt, truncated, budget };
  }

  /**
   * With max_length the prompt is part of the length asked for: it is never truncated, and
   * one that leaves no room for a new token (`room` tokens at most) fails.
   */
  private preparePromptWithin(prompt: string, index: number, room: number, options: GenerationOptions): PreparedPrompt {
    const { maxPositions } = this.layout;
    if (room < 1 || prompt.length > room * PROMPT_CHARACTERS_PER_TOKEN) throw maxLengthNoRoom(options, index, `more than ${room}`, maxPositions);
    const ids = this.encode(prompt, index);
    return { ids, text: prompt, truncated: false, budget: lengthBudget(options, ids.length, maxPositions, index) };
  }

  private encode(text: string, index: number): number[] {
    const ids = this.tokenizer.encode(text, null, { add_special_tokens: false });
    if (ids.length === 0) throw emptyPromptError(index);
    return ids;
  }

  private async generateForPrompt(
    prompt: PreparedPrompt,
    options: GenerationOptions,
    seed: number,
    onStep: (newTokens: number) => void,
    signal: AbortSignal | undefined,
  ): Promise<PromptGeneration> {
    const { eosIds } = this.layout;
    const sequences = this.sequences(prompt, options, seed);
    const rows = sequences.length;

    await yieldToEventLoop();
    throwIfAborted(signal);
    const prefill = await this.forward([prompt.ids], 0, null);
    // One prefill serves every sequence: its cache and last logits are copied per row.
    let cache = rows > 1 ? selectCacheRows(this.Tensor, prefill.present, new Array<number>(rows).fill(0)) : prefill.present;
    let logitsRows = rows > 1 ? sequences.map(() => lastLogits(prefill.logits, 0).slice()) : [lastLogits(prefill.logits, 0)];
    let active = sequences.map((_, row) => row);
    let pastLength = prompt.ids.length;

    for (let produced = 1; ; produced++) {
      const suppressed = produced <= prompt.budget.minNewTokens ? eosIds : [];
      const chosen = active.map((row, i) => {
        const sequence = sequences[row];
        const logits = logitsRows[i];
        processLogits(logits, sequence.history, { repetition_penalty: options.repetition_penalty, suppressed });
        const token = sequence.random ? sampleNextToken(logits, options, sequence.random) : argmax(logits);
        this.accept(sequence, token, options.stop);
        return token;
      });
      onStep(produced);
      const continuing = active.flatMap((row, i) => (sequences[row].finishReason ? [] : [i]));
      if (produced >= prompt.budget.maxNewTokens || continuing.length === 0) break;

      // onnxruntime-node runs a step synchronously: without a turn of the event loop between
      // steps, Node-RED (editor, HTTP, timers, other flows) would freeze for the whole text.
      await yieldToEventLoop();
      throwIfAborted(signal);
      if (continuing.length < active.length) cache = selectCacheRows(this.Tensor, cache, continuing);
      active = continuing.map((i) => active[i]);
      const step = await this.forward(
        continuing.map((i) => [chosen[i]]),
        pastLength,
        cache,
      );
      pastLength += 1;
      cache = step.present;
      logitsRows = active.map((_, i) => lastLogits(step.logits, i));
    }

    return {
      sequences: sequences.map((sequence) => this.finish(sequence, prompt, options)),
      promptTokens: prompt.ids.length,
      truncatedPrompt: prompt.truncated,
    };
  }

  /**
   * A prompt's sequences before their first token: one, or `num_return_sequences` when
   * sampling, each drawing from the prompt's own stream of `seed` (so each contact's prompt
   * draws its own numbers, and the same seed and prompt the same ones).
   */
  sequences(prompt: PreparedPrompt, options: GenerationOptions, seed: number): SequenceState[] {
    const sampling = isSampling(options);
    return Array.from({ length: sampling ? options.num_return_sequences : 1 }, (_, row) => ({
      history: new TokenHistory(prompt.ids, options.no_repeat_ngram_size),
      random: sampling ? seededRandom(seed, row, prompt.text) : undefined,
      tokens: [],
      newTokens: 0,
      finishReason: undefined,
      decoded: '',
      stopAt: -1,
    }));
  }

  /** Records the chosen token and decides whether the sequence ends with it. */
  accept(sequence: SequenceState, token: number, stops: readonly string[]): void {
    sequence.newTokens++;
    if (this.layout.eosIds.includes(token)) {
      sequence.finishReason = 'eos';
      return;
    }
    sequence.tokens.push(token);
    sequence.history.push(token);
    if (stops.length === 0) return;
    const before = sequence.decoded.length;
    sequence.decoded = this.decodeTokens(sequence.tokens);
    // Only text a new token can have completed is searched (with a margin for characters
    // whose bytes spanned two tokens and now decode differently).
    const longestStop = Math.max(...stops.map((stop) => stop.length));
    const at = findStopString(sequence.decoded, stops, Math.max(0, before - longestStop - 2));
    if (at !== -1) {
      sequence.finishReason = 'stop';
      sequence.stopAt = at;
    }
  }

  /** The text of generated tokens; none (end-of-text came first) is ''. The tokenizer refuses an empty list. */
  private decodeTokens(tokens: readonly number[]): string {
    return tokens.length === 0 ? '' : this.tokenizer.decode(tokens, { skip_special_tokens: true });
  }

  finish(sequence: SequenceState, prompt: PreparedPrompt, options: GenerationOptions): GeneratedText {
    const continuation =
      sequence.stopAt >= 0 ? sequence.decoded.slice(0, sequence.stopAt) : this.decodeTokens(sequence.tokens);
    const finishReason = sequence.finishReason ?? 'length';
    return { text: outputText(continuation, prompt.text, finishReason, options), newTokens: sequence.newTokens, finishReason };
  }

  /** The prompt alone, as one batch row without a cache. */
  prefill(ids: readonly number[]): Promise<ForwardOutput> {
    return this.forward([[...ids]], 0, null);
  }

  /**
   * One token per row; row i's cache holds `pasts[i]` real positions at the end of `width`
   * (left-padded), hidden from the others by the attention mask, at its own position.
   */
  async step(tokens: readonly number[], pasts: readonly number[], width: number, cache: readonly OrtTensor[]): Promise<ForwardOutput> {
    const { Tensor, layout } = this;
    const batch = tokens.length;
    const total = width + 1;
    const mask = new BigInt64Array(batch * total);
    const positions = new BigInt64Array(batch);
    for (let i = 0; i < batch; i++) {
      mask.fill(1n, i * total + width - pasts[i], (i + 1) * total);
      positions[i] = BigInt(pasts[i]);
    }
    const feeds: Record<string, OrtTensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(tokens, BigInt), [batch, 1]),
      attention_mask: new Tensor('int64', mask, [batch, total]),
      position_ids: new Tensor('int64', positions, [batch, 1]),
    };
    if (layout.useCacheBranch) feeds.use_cache_branch = new Tensor('bool', [true], [1]);
    layout.pastInputs.forEach((name, i) => (feeds[name] = cache[i]));
    return this.run(feeds);
  }

  private async forward(inputIds: number[][], pastLength: number, cache: OrtTensor[] | null): Promise<ForwardOutput> {
    const { Tensor, layout } = this;
    const batch = inputIds.length;
    const length = inputIds[0].length;
    const total = pastLength + length;
    const feeds: Record<string, OrtTensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(inputIds.flat(), BigInt), [batch, length]),
      attention_mask: new Tensor('int64', new BigInt64Array(batch * total).fill(1n), [batch, total]),
    };
    if (layout.positionIds) {
      const positions = new BigInt64Array(batch * length);
      for (let i = 0; i < positions.length; i++) positions[i] = BigInt(pastLength + (i % length));
      feeds.position_ids = new Tensor('int64', positions, [batch, length]);
    }
    if (layout.useCacheBranch) feeds.use_cache_branch = new Tensor('bool', [pastLength > 0], [1]);
    const emptyCache = [batch, layout.heads, 0, layout.headDim];
    layout.pastInputs.forEach((name, i) => {
      feeds[name] = cache ? cache[i] : new Tensor('float32', new Float32Array(0), emptyCache);
    });
    return this.run(feeds);
  }

  private async run(feeds: Record<string, OrtTensor>): Promise<ForwardOutput> {
    const { layout } = this;
    const output = await this.model.session.run(feeds);
    const logits = output.logits;
    if (logits.type !== 'float32') throw incompatible(`its logits are ${logits.type}, not float32`);
    return { logits, present: layout.presentOutputs.map((name) => output[name]) };
  }
}
