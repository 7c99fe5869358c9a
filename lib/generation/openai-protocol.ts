/**
 * The OpenAI-compatible HTTP API as inference servers speak it (vLLM, Hugging Face TGI,
 * Ollama, llama.cpp's server, LocalAI): generation options turned into a request body, an
 * answer turned back into texts, finish reasons and token counts, and the facts of a failed
 * answer (its error text, Retry-After). Pure functions, no network.
 */
import { MarketingError, truncate } from '../errors';
import type { FinishReason } from './generator';
import { isSampling, type GenerationOptions } from './options';

/** `completions`: POST /v1/completions, plain continuation (GPT-2-style models); `chat`: POST /v1/chat/completions. */
export type EndpointStyle = 'completions' | 'chat';

/**
 * Sampling options the OpenAI API itself lacks, in the names each server family reads:
 * `vllm` sends top_k, repetition_penalty and min_tokens (vLLM, SGLang, TGI's own names);
 * `llamacpp` sends top_k and repeat_penalty (llama.cpp's server, LocalAI); `none` sends the
 * OpenAI fields only (Ollama, TGI's Messages API, hosted APIs that refuse unknown fields).
 */
export type ExtraFields = 'vllm' | 'llamacpp' | 'none';

export const ENDPOINT_STYLES: readonly EndpointStyle[] = ['completions', 'chat'];
export const EXTRA_FIELD_STYLES: readonly ExtraFields[] = ['vllm', 'llamacpp', 'none'];

export interface RequestSettings {
  /** The model name the server serves; omitted from the request when empty (llama.cpp serves one). */
  model: string;
  endpoint: EndpointStyle;
  /** Chat only: sent before the prompt as the system message when not empty. */
  systemMessage: string;
  extraFields: ExtraFields;
}

/**
 * Where requests go. The base URL is written as OpenAI's clients take it
 * (`http://host:8000/v1`); one without the `/v1` (`http://host:8000`) gets it added.
 */
export function endpointUrl(baseUrl: URL, endpoint: EndpointStyle): URL {
  const path = baseUrl.pathname.replace(/\/+$/, '');
  const version = /\/v1$/.test(path) ? '' : '/v1';
  const url = new URL(baseUrl.href);
  url.pathname = `${path}${version}/${endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
  return url;
}

function unsupported(option: string, value: number, extraFields: ExtraFields): MarketingError {
  return new MarketingError(
    'serverOptionUnsupported',
    `Option ${option} is ${value}, but the server cannot apply it (extra fields: ${extraFields}); set it to 0, or choose the vLLM extra fields if the server is vLLM.`,
    { option, value, extraFields },
  );
}

/**
 * max_length and min_length count the prompt's tokens, which only the server's tokenizer
 * knows: the OpenAI API bounds new tokens only, a /tokenize endpoint is not part of it (and
 * differs between the servers that have one), and an estimate would change lengths silently.
 */
function countsPrompt(option: string, value: number, instead: string): MarketingError {
  return new MarketingError(
    'serverLengthUnsupported',
    `Option ${option} is ${value}: it counts the prompt's tokens, which only the server's tokenizer knows; with an inference server use ${instead}, which counts new tokens only.`,
    { option, value, instead },
  );
}

/**
 * The JSON body of one request for one prompt. Options that change which texts are allowed
 * (min_new_tokens, no_repeat_ngram_size, max_length, min_length) fail when the server cannot
 * apply them rather than being dropped; top_k and the repetition penalty are refinements a
 * server without the extra fields applies its own way. return_full_text and cut_at_sentence_end
 * are applied to the answer here, truncate_prompt is the server's business (it refuses a
 * prompt that is too long).
 */
export function requestBody(prompt: string, options: GenerationOptions, seed: number, settings: RequestSettings): Record<string, unknown> {
  const { extraFields } = settings;
  if (options.max_length !== undefined) throw countsPrompt('max_length', options.max_length, 'max_new_tokens');
  if (options.min_length !== undefined) throw countsPrompt('min_length', options.min_length, 'min_new_tokens');
  if (options.no_repeat_ngram_size > 0) throw unsupported('no_repeat_ngram_size', options.no_repeat_ngram_size, extraFields);
  if (options.min_new_tokens > 0 && extraFields !== 'vllm') throw unsupported('min_new_tokens', options.min_new_tokens, extraFields);

  const body: Record<string, unknown> = {};
  if (settings.model) body.model = settings.model;
  if (settings.endpoint === 'chat') {
    const messages = settings.systemMessage ? [{ role: 'system', content: settings.systemMessage }] : [];
    body.messages = [...messages, { role: 'user', content: prompt }];
  } else {
    body.prompt = prompt;
  }
  body.max_tokens = options.max_new_tokens;
  const sampling = isSampling(options);
  // Temperature 0 is greedy decoding for every server family.
  body.temperature = sampling ? options.temperature : 0;
  if (sampling) body.top_p = options.top_p;
  body.seed = seed;
  if (options.num_return_sequences > 1) body.n = options.num_return_sequences;
  if (options.stop.length > 0) body.stop = [...options.stop];
  if (extraFields === 'vllm') {
    // vLLM reads -1 as "off" in every version; 0 only in recent ones.
    if (sampling) body.top_k = options.top_k === 0 ? -1 : options.top_k;
    body.repetition_penalty = options.repetition_penalty;
    if (options.min_new_tokens > 0) body.min_tokens = options.min_new_tokens;
  } else if (extraFields === 'llamacpp') {
    if (sampling) body.top_k = options.top_k;
    body.repeat_penalty = options.repetition_penalty;
  }
  return body;
}

/** Why an answer is not a usable completion; the caller adds where it came from. */
export class MalformedAnswer extends Error {}

export interface CompletionChoice {
  text: string;
  finishReason: FinishReason;
}

export interface ParsedCompletion {
  /** The model the server says it used, when it says. */
  model: string | undefined;
  /** At least the number of texts asked for, in order. */
  choices: CompletionChoice[];
  /** The server's `usage`; 0 when it does not report it. */
  promptTokens: number;
  completionTokens: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/**
 * The reason a text ended, in this package's terms. OpenAI's `stop` covers both the model's
 * end-of-text token and a stop string: vLLM says which in `stop_reason` (the string, or the
 * token id / null); without it, `stop` counts as a stop string only when some were asked for.
 * TGI's own names (`eos_token`, `stop_sequence`) are understood; any other reason (such as
 * `content_filter`) means the server ended the text: `eos`.
 */
export function finishReasonOf(reason: unknown, stopReason: unknown, stopsRequested: boolean): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'stop_sequence') return 'stop';
  if (reason === 'stop') {
    if (typeof stopReason === 'string') return 'stop';
    if (stopReason === null || typeof stopReason === 'number') return 'eos';
    return stopsRequested ? 'stop' : 'eos';
  }
  return 'eos';
}

/** Parses a 2xx answer; throws MalformedAnswer saying what is wrong with it. */
export function parseCompletion(text: string, endpoint: EndpointStyle, wanted: number, stopsRequested: boolean): ParsedCompletion {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MalformedAnswer('the answer is not JSON');
  }
  if (!isRecord(json) || !Array.isArray(json.choices)) throw new MalformedAnswer('the answer has no "choices" array');
  const choices = json.choices.map((choice: unknown, position) => {
    if (!isRecord(choice)) throw new MalformedAnswer(`choice ${position} is not an object`);
    const content = endpoint === 'chat' ? (isRecord(choice.message) ? choice.message.content : undefined) : choice.text;
    if (typeof content !== 'string') {
      throw new MalformedAnswer(`choice ${position} has no ${endpoint === 'chat' ? 'message.content' : 'text'} string`);
    }
    const index = typeof choice.index === 'number' ? choice.index : position;
    return { index, text: content, finishReason: finishReasonOf(choice.finish_reason, choice.stop_reason, stopsRequested) };
  });
  if (choices.length < wanted) {
    throw new MalformedAnswer(`${wanted} texts were asked for (n) and ${choices.length} came back; the server may not support n`);
  }
  choices.sort((a, b) => a.index - b.index);
  const usage = isRecord(json.usage) ? json.usage : {};
  return {
    model: typeof json.model === 'string' && json.model !== '' ? json.model : undefined,
    choices: choices.slice(0, wanted).map(({ text: choiceText, finishReason }) => ({ text: choiceText, finishReason })),
    promptTokens: count(usage.prompt_tokens),
    completionTokens: count(usage.completion_tokens),
  };
}

/**
 * The wait a 429 or 503 asks for, in milliseconds: `Retry-After` is a number of seconds or
 * an HTTP date. undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The readable part of an error answer: OpenAI's `error.message`, vLLM's `message`, TGI's
 * `error`, FastAPI's `detail`. `redact` runs before the text is cut, so that a secret
 * straddling the cut cannot survive in part.
 */
export function errorDetail(body: string, maxLength = 300, redact: (text: string) => string = (text) => text): string {
  let detail = body;
  try {
    const json: unknown = JSON.parse(body);
    if (isRecord(json)) {
      const candidates = [isRecord(json.error) ? json.error.message : json.error, json.message, json.detail];
      const found = candidates.find((value) => typeof value === 'string' || Array.isArray(value));
      if (found !== undefined) detail = typeof found === 'string' ? found : JSON.stringify(found);
    }
  } catch {
    // not JSON: the text itself
  }
  detail = redact(detail).replace(/\s+/g, ' ').trim();
  return truncate(detail, maxLength);
}
