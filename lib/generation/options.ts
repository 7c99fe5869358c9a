/**
 * Generation options: their names (Hugging Face's, so that examples from its documentation
 * carry over), defaults (those of the seed's example: 60 new tokens, sampling with top_k 50,
 * top_p 0.95, temperature 1.0, one sequence) and validation with errors a user can act on.
 */
import { MarketingError, truncate } from '../errors';
import { MAX_SEED } from './random';

export interface GenerationOptions {
  max_new_tokens: number;
  min_new_tokens: number;
  /**
   * Hugging Face's max_length: prompt tokens + new tokens. When set, it bounds the length
   * instead of max_new_tokens; a max_new_tokens given beside it wins, as in transformers.
   */
  max_length: number | undefined;
  /** Hugging Face's min_length: prompt tokens + min_new_tokens; a min_new_tokens given beside it wins. */
  min_length: number | undefined;
  /** false: greedy (arg-max) decoding. A temperature of 0 also means greedy. */
  do_sample: boolean;
  temperature: number;
  top_k: number;
  top_p: number;
  repetition_penalty: number;
  no_repeat_ngram_size: number;
  num_return_sequences: number;
  /** undefined: a random seed is drawn (and reported) for each request. */
  seed: number | undefined;
  /** Generation stops when the text contains one of these; the stop string is not returned. */
  stop: string[];
  /** Return prompt + continuation instead of the continuation only. */
  return_full_text: boolean;
  /** When max_new_tokens cut the text off, drop its unfinished last sentence (if it has an earlier sentence end). */
  cut_at_sentence_end: boolean;
  /**
   * When prompt + max_new_tokens exceed the model's positions: true keeps the end of the
   * prompt (and says so in a warning), false fails the request.
   */
  truncate_prompt: boolean;
}

export const DEFAULT_GENERATION_OPTIONS: Readonly<GenerationOptions> = Object.freeze({
  max_new_tokens: 60,
  min_new_tokens: 0,
  max_length: undefined,
  min_length: undefined,
  do_sample: true,
  temperature: 1.0,
  top_k: 50,
  top_p: 0.95,
  repetition_penalty: 1.0,
  no_repeat_ngram_size: 0,
  num_return_sequences: 1,
  seed: undefined,
  stop: [],
  return_full_text: false,
  cut_at_sentence_end: false,
  truncate_prompt: true,
});

/** Limits that keep one message from holding the model for hours or filling memory. */
export const OPTION_LIMITS = Object.freeze({
  max_new_tokens: 4096,
  /** Prompt + new tokens: the longest context of common models; new tokens stay within max_new_tokens' limit. */
  max_length: 131_072,
  num_return_sequences: 16,
  stop: 16,
  stopLength: 200,
});

type OptionName = keyof GenerationOptions;

/** How a refused value is shown in a message: JSON, cut to a readable length. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, 60);
}

/**
 * Every refusal names the option (`params.option`) and the value; the code says which
 * rule it broke, so that each message can be translated whole.
 */
function refuse(code: string, message: string, option: string, value: unknown, params: Record<string, string | number> = {}): never {
  throw new MarketingError(code, `Option ${option} is ${shown(value)}: ${message}.`, { option, value: shown(value), ...params });
}

/** Numbers may arrive as strings from forms and environment variables: "0.9" is accepted. */
function asNumber(value: unknown): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' ? number : Number.NaN;
}

function integerIn(option: string, value: unknown, min: number, max: number): number {
  const number = asNumber(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    refuse('badInteger', `expected an integer from ${min} to ${max}`, option, value, { min, max });
  }
  return number;
}

function numberIn(option: string, value: unknown, min: number, max: number): number {
  const number = asNumber(value);
  if (!Number.isFinite(number) || number < min || number > max) {
    refuse('badNumber', `expected a number from ${min} to ${max}`, option, value, { min, max });
  }
  return number;
}

function positiveNumberUpTo(option: string, value: unknown, max: number): number {
  const number = asNumber(value);
  if (!Number.isFinite(number) || number <= 0 || number > max) {
    refuse('badPositiveNumber', `expected a number greater than 0 and at most ${max}`, option, value, { max });
  }
  return number;
}

function toBoolean(option: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return refuse('badBoolean', 'expected true or false', option, value);
}

function toStopList(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  const { stop: max, stopLength: maxLength } = OPTION_LIMITS;
  const valid =
    Array.isArray(list) &&
    list.length <= max &&
    list.every((item) => typeof item === 'string' && item.length > 0 && item.length <= maxLength);
  if (!valid) {
    refuse('badStop', `expected a string or an array of at most ${max} non-empty strings of at most ${maxLength} characters`, 'stop', value, {
      max,
      maxLength,
    });
  }
  return [...(list as string[])];
}

const VALIDATORS: { [K in OptionName]: (value: unknown) => GenerationOptions[K] } = {
  max_new_tokens: (v) => integerIn('max_new_tokens', v, 1, OPTION_LIMITS.max_new_tokens),
  min_new_tokens: (v) => integerIn('min_new_tokens', v, 0, OPTION_LIMITS.max_new_tokens),
  // 2 at least: the prompt has a token, and max_length counts it.
  max_length: (v) => integerIn('max_length', v, 2, OPTION_LIMITS.max_length),
  min_length: (v) => integerIn('min_length', v, 0, OPTION_LIMITS.max_length),
  do_sample: (v) => toBoolean('do_sample', v),
  temperature: (v) => numberIn('temperature', v, 0, 100),
  top_k: (v) => integerIn('top_k', v, 0, 1_000_000),
  top_p: (v) => positiveNumberUpTo('top_p', v, 1),
  repetition_penalty: (v) => positiveNumberUpTo('repetition_penalty', v, 100),
  no_repeat_ngram_size: (v) => integerIn('no_repeat_ngram_size', v, 0, 64),
  num_return_sequences: (v) => integerIn('num_return_sequences', v, 1, OPTION_LIMITS.num_return_sequences),
  seed: (v) => (v === undefined || v === null || v === '' ? undefined : integerIn('seed', v, 0, MAX_SEED)),
  stop: toStopList,
  return_full_text: (v) => toBoolean('return_full_text', v),
  cut_at_sentence_end: (v) => toBoolean('cut_at_sentence_end', v),
  truncate_prompt: (v) => toBoolean('truncate_prompt', v),
};

export const GENERATION_OPTION_NAMES = Object.freeze(Object.keys(VALIDATORS) as OptionName[]);

/**
 * Hugging Face `generate` options taken with their meaning, which here is no effect:
 * texts are never padded (each prompt runs alone and a finished text leaves the batch), so
 * the `pad_token_id=tokenizer.eos_token_id` of many GPT-2 notebooks changes nothing, as it
 * changes nothing in a one-prompt `generate` call.
 */
const WITHOUT_EFFECT: Record<string, (value: unknown) => unknown> = {
  pad_token_id: (v) => (v === null ? v : integerIn('pad_token_id', v, 0, 10_000_000)),
};

interface Refusal {
  /**
   * The error code, shared by options refused for the same reason; its text in the catalogs
   * says what to use instead.
   */
  code: string;
  /** The value that asks for what the node does anyway (Hugging Face's default): accepted. */
  neutral?: number | boolean;
}

/**
 * Other `generate` options people copy from model cards and notebooks. Each is refused with
 * what to use instead (unless it has its neutral value), never dropped: a copied
 * `num_beams=4` silently sampling instead would be a different text than the user asked for.
 */
const REFUSED: Record<string, Refusal> = {
  num_beams: { code: 'beamSearchOption', neutral: 1 },
  num_beam_groups: { code: 'beamSearchOption', neutral: 1 },
  diversity_penalty: { code: 'beamSearchOption', neutral: 0 },
  force_words_ids: { code: 'beamSearchOption' },
  early_stopping: { code: 'beamLengthOption', neutral: false },
  length_penalty: { code: 'beamLengthOption', neutral: 1 },
  typical_p: { code: 'samplingFilterOption', neutral: 1 },
  epsilon_cutoff: { code: 'samplingFilterOption', neutral: 0 },
  eta_cutoff: { code: 'samplingFilterOption', neutral: 0 },
  min_p: { code: 'samplingFilterOption', neutral: 0 },
  penalty_alpha: { code: 'contrastiveSearchOption', neutral: 0 },
  eos_token_id: { code: 'eosTokenOption' },
  bad_words_ids: { code: 'badWordsOption' },
  stop_strings: { code: 'stopStringsOption' },
  max_time: { code: 'maxTimeOption' },
  output_scores: { code: 'outputOption', neutral: false },
  output_logits: { code: 'outputOption', neutral: false },
  return_dict_in_generate: { code: 'outputOption', neutral: false },
};

function isNeutral(value: unknown, neutral: number | boolean | undefined): boolean {
  if (neutral === undefined) return false;
  return typeof neutral === 'boolean' ? value === neutral || value === String(neutral) : asNumber(value) === neutral;
}

/** The names `msg.options` takes: this node's options, then the Hugging Face ones it takes without effect. */
const KNOWN_NAMES = [...GENERATION_OPTION_NAMES, ...Object.keys(WITHOUT_EFFECT)].join(', ');

/**
 * `base` with the options in `overrides` applied, every value checked. Unknown names are
 * refused too: a misspelt `max_tokens` must not be ignored silently.
 */
export function resolveGenerationOptions(base: Readonly<GenerationOptions>, overrides: unknown): GenerationOptions {
  if (overrides === undefined || overrides === null) return { ...base, stop: [...base.stop] };
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new MarketingError('badOptions', `Options must be an object such as {"max_new_tokens": 40}, not ${shown(overrides)}.`, {
      value: shown(overrides),
    });
  }
  const result: GenerationOptions = { ...base, stop: [...base.stop] };
  for (const [name, value] of Object.entries(overrides)) {
    if (Object.hasOwn(WITHOUT_EFFECT, name)) {
      WITHOUT_EFFECT[name](value);
      continue;
    }
    if (Object.hasOwn(REFUSED, name)) {
      const { code, neutral } = REFUSED[name];
      if (isNeutral(value, neutral)) continue;
      refuse(code, 'not available here', name, value);
    }
    if (!Object.hasOwn(VALIDATORS, name)) {
      throw new MarketingError('unknownOption', `Unknown option ${name}; known options: ${KNOWN_NAMES}.`, { option: name, known: KNOWN_NAMES });
    }
    const key = name as OptionName;
    (result as unknown as Record<string, unknown>)[key] = VALIDATORS[key](value);
  }
  // The count of new tokens given here wins over a total length from here or from the base.
  if (Object.hasOwn(overrides, 'max_new_tokens')) result.max_length = undefined;
  if (Object.hasOwn(overrides, 'min_new_tokens')) result.min_length = undefined;
  checkMinimumBelowMaximum(result);
  if (!isSampling(result) && result.num_return_sequences > 1) {
    refuse(
      'greedyOneSequence',
      'greedy decoding (do_sample false or temperature 0) gives one text; turn sampling on for several',
      'num_return_sequences',
      result.num_return_sequences,
    );
  }
  return result;
}

/**
 * The length options given in `overrides` beside the one that wins over them (max_length
 * beside max_new_tokens, min_length beside min_new_tokens): transformers warns about these.
 */
export function overriddenLengthOptions(overrides: unknown): Array<{ option: string; winner: string }> {
  if (typeof overrides !== 'object' || overrides === null) return [];
  const pairs = [
    { option: 'max_length', winner: 'max_new_tokens' },
    { option: 'min_length', winner: 'min_new_tokens' },
  ];
  return pairs.filter(({ option, winner }) => Object.hasOwn(overrides, option) && Object.hasOwn(overrides, winner));
}

/** A minimum above the maximum, when both count the same tokens; the others wait for the prompt (lengthBudget). */
function checkMinimumBelowMaximum(options: GenerationOptions): void {
  const { max_length: maxLength, min_length: minLength } = options;
  if (maxLength === undefined && minLength === undefined && options.min_new_tokens > options.max_new_tokens) {
    refuse('minAboveMax', `it may not exceed max_new_tokens (${options.max_new_tokens})`, 'min_new_tokens', options.min_new_tokens, {
      limitOption: 'max_new_tokens',
      limit: options.max_new_tokens,
    });
  }
  if (maxLength !== undefined && minLength !== undefined && minLength > maxLength) {
    refuse('minAboveMax', `it may not exceed max_length (${maxLength})`, 'min_length', minLength, { limitOption: 'max_length', limit: maxLength });
  }
}

/** How many new tokens one prompt gets: at most, and at least before the end-of-text token may come. */
export interface LengthBudget {
  maxNewTokens: number;
  minNewTokens: number;
}

/**
 * The most tokens a prompt may have with max_length set (it needs room for one new token),
 * or undefined when max_new_tokens bounds the length. `maxPositions` is the model's.
 */
export function maxLengthPromptRoom(options: GenerationOptions, maxPositions: number): number | undefined {
  return options.max_length === undefined ? undefined : Math.min(options.max_length, maxPositions) - 1;
}

/**
 * The error for a prompt that leaves max_length no new token (`promptTokens` may be a
 * bound, "more than 511", when the prompt was too long to count).
 */
export function maxLengthNoRoom(options: GenerationOptions, index: number, promptTokens: number | string, maxPositions: number): MarketingError {
  const maxLength = options.max_length ?? 0;
  return new MarketingError(
    'maxLengthNoRoom',
    `Prompt ${index + 1} has ${promptTokens} tokens and max_length ${maxLength} counts them: no room is left for new tokens in max_length (at most the model's ${maxPositions} positions). Raise max_length above the prompt's tokens, shorten the prompt, or use max_new_tokens, which counts new tokens only.`,
    { index: index + 1, promptTokens, max_length: maxLength, n_positions: maxPositions },
  );
}

/**
 * The new tokens prompt `index` (of `promptTokens` tokens) gets. With max_length, as in
 * transformers, the prompt counts: new tokens = max_length - prompt tokens, max_length
 * clamped to the model's positions; min_length likewise. Without them, max_new_tokens and
 * min_new_tokens as they are (the caller has fitted the prompt to the positions).
 */
export function lengthBudget(options: GenerationOptions, promptTokens: number, maxPositions: number, index: number): LengthBudget {
  let maxNewTokens = options.max_new_tokens;
  if (options.max_length !== undefined) {
    maxNewTokens = Math.min(options.max_length, maxPositions) - promptTokens;
    if (maxNewTokens < 1) throw maxLengthNoRoom(options, index, promptTokens, maxPositions);
    const { max_new_tokens: limit } = OPTION_LIMITS;
    if (maxNewTokens > limit) {
      refuse(
        'maxLengthTooLong',
        `after the ${promptTokens} tokens of prompt ${index + 1} it leaves ${maxNewTokens} new tokens, more than ${limit}; expected at most ${promptTokens + limit}`,
        'max_length',
        options.max_length,
        { index: index + 1, promptTokens, newTokens: maxNewTokens, limit, max: promptTokens + limit },
      );
    }
  }
  const minNewTokens = options.min_length === undefined ? options.min_new_tokens : Math.max(0, options.min_length - promptTokens);
  if (minNewTokens > maxNewTokens) {
    const option = options.min_length === undefined ? 'min_new_tokens' : 'min_length';
    refuse(
      'minUnreachable',
      `prompt ${index + 1} has ${promptTokens} tokens, so it asks for ${minNewTokens} new tokens, more than the ${maxNewTokens} the length limit leaves`,
      option,
      option === 'min_length' ? options.min_length : options.min_new_tokens,
      { index: index + 1, promptTokens, minNewTokens, maxNewTokens },
    );
  }
  return { maxNewTokens, minNewTokens };
}

/** Sampling is on when do_sample is set and the temperature is above 0. */
export function isSampling(options: Pick<GenerationOptions, 'do_sample' | 'temperature'>): boolean {
  return options.do_sample && options.temperature > 0;
}
