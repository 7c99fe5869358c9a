/**
 * A FAKE OpenAI-compatible inference server, for protocol tests and the benchmark: no real
 * inference server (vLLM, TGI, Ollama, llama.cpp, LocalAI) runs on these machines. It checks
 * what it receives as a strict server would (path, method, Bearer key, content type, the
 * JSON body's fields and their types, optionally no fields outside OpenAI's), records every
 * request, and answers as a test scripts it: after a delay, with 429 + Retry-After, a 5xx,
 * malformed JSON, or a dropped connection. Unscripted requests get a valid completion whose
 * text says which prompt it continues. The real peer of these tests is the two-process round
 * trip (test/nodes/remote-round-trip.test.ts); this one exists for the failures a real
 * server cannot be made to produce on demand.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeAnswer {
  /** Wait this long before answering (default: the server's delayMs). */
  delayMs?: number;
  /** Default 200 with a valid completion for the request. */
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as it is (malformed answers). */
  body?: unknown;
  /** Close the connection instead of answering: before the headers, or halfway through the body. */
  drop?: 'beforeHeaders' | 'midBody';
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body (undefined when it was not JSON). */
  body: Record<string, unknown> | undefined;
  /** performance.now() when the request had arrived. */
  receivedAt: number;
}

export interface FakeServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** When set, the body's `model` must be this name. */
  model?: string;
  /** Delay of every unscripted answer, in milliseconds. */
  delayMs?: number;
  /** Refuse fields OpenAI's API does not define, as api.openai.com does. */
  strictFields?: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

const OPENAI_FIELDS = {
  completions: ['model', 'prompt', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'logprobs', 'echo', 'presence_penalty', 'frequency_penalty', 'best_of', 'logit_bias', 'user', 'suffix'],
  chat: ['model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'user', 'response_format'],
};

function openAiError(message: string, type = 'invalid_request_error'): { error: { message: string; type: string } } {
  return { error: { message, type } };
}

/** What is wrong with a request body, as a strict server would say it; undefined when nothing. */
function bodyProblem(body: unknown, endpoint: 'completions' | 'chat', strictFields: boolean): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (endpoint === 'completions' && typeof b.prompt !== 'string') return 'prompt must be a string';
  if (endpoint === 'chat') {
    const messages = b.messages;
    const valid =
      Array.isArray(messages) &&
      messages.length > 0 &&
      messages.every((m) => typeof m === 'object' && m !== null && ['system', 'user', 'assistant'].includes(m.role) && typeof m.content === 'string');
    if (!valid) return 'messages must be a non-empty array of {role, content}';
    if (messages.at(-1).role !== 'user') return 'the last message must be the user message';
  }
  const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (b.model !== undefined && typeof b.model !== 'string') return 'model must be a string';
  if (b.max_tokens !== undefined && !isInt(b.max_tokens, 1)) return 'max_tokens must be a positive integer';
  if (b.temperature !== undefined && !(typeof b.temperature === 'number' && b.temperature >= 0 && b.temperature <= 2)) return 'temperature must be from 0 to 2';
  if (b.top_p !== undefined && !(typeof b.top_p === 'number' && b.top_p > 0 && b.top_p <= 1)) return 'top_p must be in (0, 1]';
  if (b.n !== undefined && !isInt(b.n, 1)) return 'n must be a positive integer';
  if (b.seed !== undefined && !isInt(b.seed, 0)) return 'seed must be a non-negative integer';
  if (b.stop !== undefined && !(Array.isArray(b.stop) && b.stop.every((s) => typeof s === 'string'))) return 'stop must be an array of strings';
  if (strictFields) {
    const unknown = Object.keys(b).find((key) => !OPENAI_FIELDS[endpoint].includes(key));
    if (unknown) return `Unrecognized request argument supplied: ${unknown}`;
  }
  return undefined;
}

/** The completion an unscripted request gets: one text per choice naming its prompt's end. */
function completionFor(body: Record<string, unknown>, endpoint: 'completions' | 'chat'): Record<string, unknown> {
  const prompt = endpoint === 'chat' ? String((body.messages as { content: string }[]).at(-1)?.content) : String(body.prompt);
  const n = typeof body.n === 'number' ? body.n : 1;
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 16;
  const choices = Array.from({ length: n }, (_, index) => {
    const text = ` continuation ${index} of "${prompt.slice(-24)}"`;
    return endpoint === 'chat'
      ? { index, message: { role: 'assistant', content: text }, finish_reason: 'length' }
      : { index, text, finish_reason: 'length', logprobs: null };
  });
  return {
    id: `fake-${Date.now()}`,
    object: endpoint === 'chat' ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' ? body.model : 'fake-model',
    choices,
    usage: { prompt_tokens: prompt.split(/\s+/).length, completion_tokens: maxTokens * n, total_tokens: prompt.split(/\s+/).length + maxTokens * n },
  };
}

export class FakeOpenAiServer {
  readonly requests: ReceivedRequest[] = [];
  /** Requests being answered now, and the most at once so far. */
  inFlight = 0;
  maxInFlight = 0;
  private readonly script: FakeAnswer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly options: FakeServerOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // The TLS variant sees its connections as secureConnection; plain ones are enough to close.
    this.server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeOpenAiServer> {
    const fake = new FakeOpenAiServer(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** The base URL as an OpenAI client takes it: http://127.0.0.1:<port>/v1 */
  get baseUrl(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}/v1`;
  }

  /** Answers for the next requests, in arrival order; then the default completion again. */
  answerNext(...answers: FakeAnswer[]): void {
    this.script.push(...answers);
  }

  /** Forgets the requests and the in-flight high-water mark. */
  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
    this.maxInFlight = this.inFlight;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const path = req.url ?? '';
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body, receivedAt: performance.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);

    const scripted = this.script.shift();
    const delayMs = scripted?.delayMs ?? this.options.delayMs ?? 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;

    if (scripted?.drop === 'beforeHeaders') {
      req.socket.destroy();
      return;
    }
    const { status, answer, headers } = this.answerFor(req, path, body, raw, scripted);
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    if (scripted?.drop === 'midBody') {
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    res.end(text);
  }

  private answerFor(
    req: IncomingMessage,
    path: string,
    body: Record<string, unknown> | undefined,
    raw: string,
    scripted: FakeAnswer | undefined,
  ): { status: number; answer: unknown; headers: Record<string, string> } {
    const endpoint = path === '/v1/completions' ? 'completions' : path === '/v1/chat/completions' ? 'chat' : undefined;
    const refuse = (status: number, message: string, type?: string) => ({ status, answer: openAiError(message, type), headers: {} });
    if (!endpoint) return refuse(404, `no route ${path}`, 'not_found');
    if (req.method !== 'POST') return refuse(405, 'method not allowed');
    if (this.options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return refuse(401, 'Incorrect API key provided.', 'authentication_error');
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) return refuse(415, 'content-type must be application/json');
    if (body === undefined) return refuse(400, `the body is not JSON: ${raw.slice(0, 40)}`);
    const problem = bodyProblem(body, endpoint, this.options.strictFields ?? false);
    if (problem) return refuse(400, problem);
    if (this.options.model !== undefined && body.model !== this.options.model) {
      return refuse(404, `The model \`${String(body.model)}\` does not exist.`, 'not_found');
    }
    if (scripted?.status !== undefined || scripted?.body !== undefined) {
      return { status: scripted.status ?? 200, answer: scripted.body ?? completionFor(body, endpoint), headers: scripted.headers ?? {} };
    }
    return { status: 200, answer: completionFor(body, endpoint), headers: scripted?.headers ?? {} };
  }
}
