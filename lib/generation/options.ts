/**
 * Generation options: their names (Hugging Face's, so that examples from its documentation
 * carry over), defaults (those of the seed's example: 60 new tokens, sampling with top_k 50,
 * top_p 0.95, temperature 1.0, one sequence) and validation with errors a user can act on.
 */
import { MarketingError } from '../errors';
import { MAX_SEED } from './random';

export interface GenerationOptions {
  max_new_tokens: number;
  min_new_tokens: number;
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
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
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
    if (!Object.hasOwn(VALIDATORS, name)) {
      throw new MarketingError('unknownOption', `Unknown option ${name}; known options: ${GENERATION_OPTION_NAMES.join(', ')}.`, {
        option: name,
        known: GENERATION_OPTION_NAMES.join(', '),
      });
    }
    const key = name as OptionName;
    (result as unknown as Record<string, unknown>)[key] = VALIDATORS[key](value);
  }
  if (result.min_new_tokens > result.max_new_tokens) {
    refuse('minAboveMax', `it may not exceed max_new_tokens (${result.max_new_tokens})`, 'min_new_tokens', result.min_new_tokens, {
      max_new_tokens: result.max_new_tokens,
    });
  }
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

/** Sampling is on when do_sample is set and the temperature is above 0. */
export function isSampling(options: Pick<GenerationOptions, 'do_sample' | 'temperature'>): boolean {
  return options.do_sample && options.temperature > 0;
}
