/**
 * The inference-server backend: each prompt is one POST to an OpenAI-compatible server
 * (vLLM, TGI, Ollama, llama.cpp's server, LocalAI) with Node's own fetch. Up to the
 * configured number of requests are in flight per model (the shared model's queue sees to
 * that, `concurrency`); 429 and 5xx answers and dropped connections are tried again with
 * backoff honouring Retry-After; every other failure becomes an error that says what
 * happened and what to check. The API key is sent as a Bearer token and appears nowhere
 * else: not in errors, not in the spec's JSON or inspection.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { backoffDelay, type Backoff } from '../backoff';
import { MarketingError } from '../errors';
import { isTlsErrorCode } from '../network';
import {
  checkPromptNotEmpty,
  runAtOnce,
  throwIfAborted,
  type GenerationControl,
  type GenerationResult,
  type PromptGeneration,
  type TextGenerator,
} from './generator';
import {
  endpointUrl,
  ENDPOINT_STYLES,
  errorDetail,
  EXTRA_FIELD_STYLES,
  MalformedAnswer,
  parseCompletion,
  requestBody,
  retryAfterMs,
  type RequestSettings,
} from './openai-protocol';
import type { GenerationOptions } from './options';
import { randomSeed } from './random';
import { outputText } from './text';

/**
 * A credential that does not leak by accident: JSON, string conversion and `util.inspect`
 * all show `[redacted]`; only `reveal()` gives the value, for the Authorization header.
 */
export class ApiKey {
  readonly #value: string;

  constructor(value: unknown) {
    this.#value = typeof value === 'string' ? value.trim() : '';
  }

  get isSet(): boolean {
    return this.#value !== '';
  }

  reveal(): string {
    return this.#value;
  }

  /** Tells keys apart (two keys, two shared models) without keeping the key in the registry. */
  fingerprint(): string {
    return this.isSet ? createHash('sha256').update(this.#value).digest('hex').slice(0, 32) : '';
  }

  /** `text` with every occurrence of the key replaced: for texts a server sends back. */
  redact(text: string): string {
    return this.isSet ? text.split(this.#value).join('[redacted]') : text;
  }

  toJSON(): string {
    return this.isSet ? '[redacted]' : '';
  }

  toString(): string {
    return this.toJSON();
  }

  [inspect.custom](): string {
    return `ApiKey(${this.toJSON() || 'none'})`;
  }
}

export interface ServerModelSpec extends RequestSettings {
  source: 'server';
  /** As typed in the marketing-llm node; checked when the model is "loaded". */
  baseUrl: string;
  /** Requests in flight at most, for every node using this model together. */
  maxInFlight: number | string;
  apiKey: ApiKey;
}

/** The marketing-llm node's server fields; every field is optional. */
export interface ServerModelSettings {
  baseUrl?: string;
  serverModel?: string;
  endpoint?: string;
  systemMessage?: string;
  maxInFlight?: number | string;
  extraFields?: string;
}

export const DEFAULT_MAX_IN_FLIGHT = 4;
const MAX_IN_FLIGHT = 256;

export function resolveServerModelSpec(settings: ServerModelSettings, apiKey: unknown): ServerModelSpec {
  const endpoint = ENDPOINT_STYLES.find((style) => style === settings.endpoint) ?? 'completions';
  const extraFields = EXTRA_FIELD_STYLES.find((style) => style === settings.extraFields) ?? 'vllm';
  const maxInFlight = settings.maxInFlight === undefined || settings.maxInFlight === '' ? DEFAULT_MAX_IN_FLIGHT : settings.maxInFlight;
  return {
    source: 'server',
    baseUrl: (settings.baseUrl ?? '').trim(),
    model: (settings.serverModel ?? '').trim(),
    endpoint,
    systemMessage: endpoint === 'chat' ? (settings.systemMessage ?? '') : '',
    maxInFlight,
    extraFields,
    apiKey: new ApiKey(apiKey),
  };
}

/** The address shown in names and errors: scheme, host, port and path, never user info or query. */
function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function parseBaseUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    // The text may hold a password (http://user:secret@host): only its shape is shown.
    const shown = url && (url.protocol === 'http:' || url.protocol === 'https:') ? shownUrl(url) : text.replace(/\/\/[^/@]*@/, '//...@').slice(0, 100);
    throw new MarketingError(
      'serverBadUrl',
      `The server URL ${JSON.stringify(shown)} is not an http:// or https:// address such as http://127.0.0.1:8000/v1 (put an API key in the API key field, not in the URL).`,
      { url: shown },
    );
  }
  return url;
}

export function serverModelName(spec: ServerModelSpec): string {
  if (spec.model) return spec.model;
  try {
    return new URL(spec.baseUrl).host;
  } catch {
    return spec.baseUrl.slice(0, 60);
  }
}

/** Two specs with the same key share one model: one in-flight limit for the server. */
export function serverModelKey(spec: ServerModelSpec): string {
  const { baseUrl, model, endpoint, systemMessage, maxInFlight, extraFields, apiKey } = spec;
  return JSON.stringify(['server', baseUrl, model, endpoint, systemMessage, String(maxInFlight), extraFields, apiKey.fingerprint()]);
}

export interface ServerRetryPolicy extends Backoff {
  /** Tries after the first, for 429, 5xx and dropped connections. */
  retries: number;
  /** A Retry-After longer than this is not waited for: the message fails at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_SERVER_RETRY_POLICY: Readonly<ServerRetryPolicy> = Object.freeze({
  retries: 3,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
});

/** An answer or failure worth trying again, and how long the server asked to wait. */
interface Retryable {
  error: MarketingError;
  retryAfterMs: number | undefined;
}

type Attempt = { ok: true; body: string } | { ok: false; retry: Retryable };

const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function causeOf(err: unknown): { code: string; message: string } {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const message = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return { code, message: message.split('\n')[0].slice(0, 200) };
}

export class OpenAiTextGenerator implements TextGenerator {
  readonly name: string;
  readonly maxPositions = Infinity;
  readonly concurrency: number;
  private readonly url: URL;
  private readonly shown: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly spec: ServerModelSpec,
    private readonly retry: Readonly<ServerRetryPolicy> = DEFAULT_SERVER_RETRY_POLICY,
  ) {
    this.url = endpointUrl(parseBaseUrl(spec.baseUrl), spec.endpoint);
    this.shown = shownUrl(this.url);
    const maxInFlight = Number(spec.maxInFlight);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT) {
      throw new MarketingError('serverBadInFlight', `Setting maxInFlight is ${String(spec.maxInFlight)}: expected an integer from 1 to ${MAX_IN_FLIGHT}.`, {
        value: String(spec.maxInFlight),
        max: MAX_IN_FLIGHT,
      });
    }
    this.concurrency = maxInFlight;
    this.name = serverModelName(spec);
    this.headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (spec.apiKey.isSet) this.headers.authorization = `Bearer ${spec.apiKey.reveal()}`;
  }

  /**
   * One request per prompt, each a turn of the queue, so a batch shares the in-flight limit
   * with every other message. The first prompt that fails fails the message and stops the
   * others (queued or in flight).
   */
  async generate(prompts: readonly string[], options: GenerationOptions, control: GenerationControl = {}): Promise<GenerationResult> {
    const started = performance.now();
    const seed = options.seed ?? randomSeed();
    // Every prompt is checked before any request, so a bad one fails the message at once.
    const bodies = prompts.map((prompt, index) => {
      checkPromptNotEmpty(prompt, index);
      return JSON.stringify(requestBody(prompt, options, seed, this.spec));
    });
    const queue = control.queue ?? runAtOnce;
    const stopAll = new AbortController();
    const onAbort = (): void => stopAll.abort(control.signal?.reason);
    if (control.signal?.aborted) onAbort();
    control.signal?.addEventListener('abort', onAbort, { once: true });
    let model = this.name;
    try {
      const results = await Promise.all(
        bodies.map((body, index) =>
          queue(async () => {
            throwIfAborted(stopAll.signal);
            const answer = await this.complete(body, prompts[index], options, stopAll.signal);
            if (answer.model) model = answer.model;
            const newTokens = answer.generation.sequences.reduce((sum, sequence) => sum + sequence.newTokens, 0);
            control.onProgress?.({ prompt: index, prompts: prompts.length, newTokens, maxNewTokens: options.max_new_tokens });
            return answer.generation;
          }, stopAll.signal).catch((err: unknown) => {
            stopAll.abort(err);
            throw err;
          }),
        ),
      );
      return { model, seed, prompts: results, durationMs: performance.now() - started };
    } finally {
      control.signal?.removeEventListener('abort', onAbort);
    }
  }

  async dispose(): Promise<void> {
    // Nothing is held: fetch's connection pool is process-wide and closes idle sockets itself.
  }

  /** One prompt, tried again while the server is busy or failing, within the retry policy. */
  private async complete(body: string, prompt: string, options: GenerationOptions, signal: AbortSignal) {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(body, signal, attempt);
      if (outcome.ok) return this.answer(outcome.body, prompt, options);
      const { error, retryAfterMs: asked } = outcome.retry;
      if (attempt > this.retry.retries) throw error;
      if (asked !== undefined && asked > this.retry.maxRetryAfterMs) {
        const seconds = Math.ceil(asked / 1000);
        throw new MarketingError(
          'serverRetryTooLate',
          `The server at ${error.params.url} answered HTTP ${error.params.status} and asks to try again in ${seconds} s, later than this node waits (${this.retry.maxRetryAfterMs / 1000} s).`,
          { ...error.params, seconds, maxSeconds: this.retry.maxRetryAfterMs / 1000 },
        );
      }
      try {
        await sleep(asked ?? backoffDelay(this.retry, attempt), undefined, { signal });
      } catch {
        throwIfAborted(signal);
      }
    }
  }

  private async attempt(body: string, signal: AbortSignal, attempt: number): Promise<Attempt> {
    const url = this.shown;
    let response: Response;
    try {
      // Redirects are not followed: the key must never be sent to an address nobody configured.
      response = await fetch(this.url, { method: 'POST', headers: this.headers, body, signal, redirect: 'manual' });
    } catch (err) {
      throwIfAborted(signal);
      return this.unanswered(err, attempt);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throwIfAborted(signal);
      return this.unanswered(err, attempt);
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { ok: true, body: text };
    const redact = (value: string): string => this.spec.apiKey.redact(value);
    const detail = errorDetail(text, 300, redact) || redact(response.statusText) || 'no details';
    const params = { url, status, detail, attempts: attempt, model: this.spec.model || '-' };
    if (status === 429 || status >= 500) {
      const error =
        status === 429
          ? new MarketingError('serverBusy', `The server at ${url} is overloaded (HTTP 429) and still refused after ${attempt} attempts: ${detail}.`, params)
          : new MarketingError('serverFailed', `The server at ${url} failed with HTTP ${status} after ${attempt} attempts: ${detail}.`, params);
      return { ok: false, retry: { error, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) } };
    }
    throw this.refusal(status, detail, response.headers.get('location'), params);
  }

  private unanswered(err: unknown, attempt: number): Attempt {
    const { error, retryable } = this.connectionFailure(err, attempt);
    if (!retryable) throw error;
    return { ok: false, retry: { error, retryAfterMs: undefined } };
  }

  /** A 3xx or a 4xx other than 429: the request itself is wrong, trying again would not help. */
  private refusal(status: number, detail: string, location: string | null, params: Record<string, string | number>): MarketingError {
    const url = this.shown;
    if (status >= 300 && status < 400) {
      let target = '?';
      try {
        target = location ? shownUrl(new URL(location, this.url)) : '?';
      } catch {
        // an unreadable Location stays "?"
      }
      return new MarketingError('serverRedirected', `The server at ${url} redirects (HTTP ${status}) to ${target}: set the base URL to that address.`, {
        ...params,
        location: target,
      });
    }
    if (status === 401 || status === 403) {
      return new MarketingError('serverUnauthorized', `The server at ${url} refused the request (HTTP ${status}: ${detail}): check the API key in the marketing-llm node.`, params);
    }
    if (status === 404) {
      return new MarketingError('serverNotFound', `The server at ${url} answered HTTP 404 (${detail}): check the base URL, the endpoint style and the model name.`, params);
    }
    return new MarketingError('serverRejected', `The server at ${url} rejected the request (HTTP ${status}): ${detail}.`, params);
  }

  /** A request that got no answer: a dropped connection is worth another try, the rest are not. */
  private connectionFailure(err: unknown, attempt: number): { error: MarketingError; retryable: boolean } {
    const { code, message } = causeOf(err);
    const reason = code && !message.includes(code) ? `${code}: ${message}` : message;
    const url = this.shown;
    const params = { url, reason, attempts: attempt };
    if (DROPPED.has(code) || message === 'terminated') {
      const error = new MarketingError('serverDropped', `The connection to ${url} was closed before a complete answer (${reason}), ${attempt} attempts.`, params);
      return { error, retryable: true };
    }
    if (isTlsErrorCode(code)) {
      const error = new MarketingError(
        'serverTls',
        `The secure connection to ${url} failed (${reason}): the server's certificate is not trusted or does not match its name. Use a certificate from a trusted authority, or start Node-RED with NODE_EXTRA_CA_CERTS naming your CA file.`,
        params,
      );
      return { error, retryable: false };
    }
    if (TIMED_OUT.has(code)) {
      return { error: new MarketingError('serverTimeout', `The server at ${url} did not answer in time (${reason}).`, params), retryable: false };
    }
    const error = new MarketingError('serverUnreachable', `Could not connect to ${url} (${reason}): is the server running, and are the host and port right?`, params);
    return { error, retryable: false };
  }

  private answer(body: string, prompt: string, options: GenerationOptions): { model: string | undefined; generation: PromptGeneration } {
    const wanted = options.num_return_sequences;
    let parsed: ReturnType<typeof parseCompletion>;
    try {
      parsed = parseCompletion(body, this.spec.endpoint, wanted, options.stop.length > 0);
    } catch (err) {
      if (!(err instanceof MalformedAnswer)) throw err;
      // Redacted before it is cut: a key straddling the cut would otherwise survive in part.
      const sample = this.spec.apiKey.redact(body).replace(/\s+/g, ' ').slice(0, 120);
      throw new MarketingError(
        'serverBadAnswer',
        `The server at ${this.shown} sent an answer that is not an OpenAI ${this.spec.endpoint} response (${err.message}): ${sample}`,
        { url: this.shown, reason: err.message, sample },
      );
    }
    // usage counts the texts of a request together: each text gets its share, the totals stay exact.
    const share = Math.floor(parsed.completionTokens / wanted);
    const sequences = parsed.choices.map((choice, i) => ({
      text: outputText(choice.text, prompt, choice.finishReason, options),
      newTokens: share + (i === 0 ? parsed.completionTokens - share * wanted : 0),
      finishReason: choice.finishReason,
    }));
    return { model: parsed.model, generation: { sequences, promptTokens: parsed.promptTokens, truncatedPrompt: false } };
  }
}

/** "Loads" a server model: checks its settings; nothing is contacted until the first message. */
export async function loadServerModel(spec: ServerModelSpec): Promise<OpenAiTextGenerator> {
  return new OpenAiTextGenerator(spec);
}
