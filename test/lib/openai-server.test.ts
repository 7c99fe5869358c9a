/**
 * The inference-server backend against the FAKE OpenAI-compatible server of the test
 * suite (test/support/fake-openai-server.ts), over real HTTP with Node's fetch: what it
 * sends, how it reads answers, its retries and its errors, and its in-flight limit through
 * the shared model's queue. The round trip to a real peer is test/nodes/remote-round-trip.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { resolveModelSpec } from '../../lib/generation/backends';
import { ModelRegistry } from '../../lib/generation/model-registry';
import { ApiKey, OpenAiTextGenerator, type ServerModelSpec, type ServerRetryPolicy } from '../../lib/generation/openai-server';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';
import { FakeOpenAiServer } from '../support/fake-openai-server';

const KEY = 'sk-test-0123456789abcdef';
const FAST: ServerRetryPolicy = { retries: 3, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 5000 };
const options = (overrides: Record<string, unknown> = {}) => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { seed: 7, max_new_tokens: 12, ...overrides });

function spec(fake: FakeOpenAiServer, settings: Record<string, unknown> = {}, apiKey: string = KEY): ServerModelSpec {
  return resolveModelSpec({ backend: 'openai', baseUrl: fake.baseUrl, serverModel: 'acme/gpt2', ...settings }, '/unused', apiKey) as ServerModelSpec;
}

/** Runs `promise`, which must reject; returns the error for checks. */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; params?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; params?: Record<string, unknown> };
  }
  return assert.fail('expected a failure');
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('lib/generation/openai-server (against a fake OpenAI-compatible server)', function () {
  this.timeout(20_000);
  let fake: FakeOpenAiServer;

  before(async () => {
    fake = await FakeOpenAiServer.start({ apiKey: KEY, model: 'acme/gpt2' });
  });
  after(() => fake.close());
  afterEach(() => fake.reset());

  it('posts each prompt with the Bearer key and the mapped options, and reads texts and usage', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    const result = await generator.generate(['Dear Anna,', 'Dear Bo,'], options({ temperature: 0.7, stop: ['\n\n'], num_return_sequences: 2 }));
    assert.equal(fake.requests.length, 2);
    for (const request of fake.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, '/v1/completions');
      assert.equal(request.headers.authorization, `Bearer ${KEY}`);
      assert.equal(request.headers['content-type'], 'application/json');
      assert.deepEqual(Object.keys(request.body ?? {}).sort(), ['max_tokens', 'model', 'n', 'prompt', 'repetition_penalty', 'seed', 'stop', 'temperature', 'top_k', 'top_p']);
      assert.equal(request.body?.max_tokens, 12);
      assert.equal(request.body?.seed, 7);
    }
    assert.deepEqual(fake.requests.map((r) => r.body?.prompt).sort(), ['Dear Anna,', 'Dear Bo,']);
    assert.equal(result.model, 'acme/gpt2');
    assert.equal(result.seed, 7);
    assert.deepEqual(
      result.prompts.map((p) => p.sequences.map((s) => s.text)),
      [
        ['continuation 0 of "Dear Anna,"', 'continuation 1 of "Dear Anna,"'],
        ['continuation 0 of "Dear Bo,"', 'continuation 1 of "Dear Bo,"'],
      ],
    );
    // The fake reports 12 completion tokens per text, 2 prompt tokens per prompt.
    assert.deepEqual(result.prompts.map((p) => p.sequences.reduce((n, s) => n + s.newTokens, 0)), [24, 24]);
    assert.deepEqual(result.prompts.map((p) => p.promptTokens), [2, 2]);
    assert.equal(result.prompts[0].sequences[0].finishReason, 'length');
  });

  it('draws a seed when none is given and sends it with every prompt of the message', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    const result = await generator.generate(['a', 'b'], options({ seed: undefined }));
    assert.ok(Number.isInteger(result.seed));
    assert.deepEqual(fake.requests.map((r) => r.body?.seed), [result.seed, result.seed]);
  });

  it('uses chat completions with the system message, and applies return_full_text and cut_at_sentence_end itself', async () => {
    const chat = new OpenAiTextGenerator(spec(fake, { endpoint: 'chat', systemMessage: 'Be brief.' }), FAST);
    fake.answerNext({ body: { choices: [{ index: 0, message: { role: 'assistant', content: ' Welcome aboard. We are glad you' }, finish_reason: 'length' }] } });
    const result = await chat.generate(['Hi Anna.'], options({ return_full_text: true, cut_at_sentence_end: true }));
    assert.equal(fake.requests[0].path, '/v1/chat/completions');
    assert.deepEqual(fake.requests[0].body?.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi Anna.' },
    ]);
    assert.equal(result.prompts[0].sequences[0].text, 'Hi Anna. Welcome aboard.');
  });

  it('keeps at most maxInFlight requests in flight per model, across messages and prompts, in arrival order', async () => {
    const slow = await FakeOpenAiServer.start({ apiKey: KEY, delayMs: 60 });
    try {
      const registry = new ModelRegistry((s) => Promise.resolve(new OpenAiTextGenerator(s as ServerModelSpec, FAST)));
      const lease = registry.acquire(spec(slow, { maxInFlight: 3 }));
      const other = registry.acquire(spec(slow, { maxInFlight: 3 }));
      assert.equal(lease.model, other.model, 'same settings, same model: one limit');
      const started: number[] = [];
      const messages = Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? other : lease).model.generate([`m${i} p0`, `m${i} p1`], options(), { onStart: () => started.push(i) }),
      );
      const results = await Promise.all(messages);
      assert.equal(slow.requests.length, 12);
      assert.equal(slow.maxInFlight, 3, 'the limit is reached and never passed');
      assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
      // Sent in arrival order. The server sees concurrent requests in whatever order their
      // connections deliver them, so what it can check is the FIFO bound: a request is sent
      // only when every earlier one has been sent and at most maxInFlight - 1 are unanswered,
      // so it reaches the server after all but at most maxInFlight - 1 of the earlier ones.
      const sentOrder = messages.flatMap((_, i) => [`m${i} p0`, `m${i} p1`]);
      const received = slow.requests.map((r) => sentOrder.indexOf(String(r.body?.prompt)));
      assert.deepEqual([...received].sort((a, b) => a - b), sentOrder.map((_, i) => i), 'every prompt sent once');
      received.forEach((index, position) =>
        assert.ok(index <= position + 2, `prompt ${sentOrder[index]} reached the server at position ${position}: it overtook more than 2 earlier ones`));
      results.forEach((result, i) => assert.match(result.prompts[1].sequences[0].text, new RegExp(`m${i} p1`)));
      await lease.release();
      await other.release();
    } finally {
      await slow.close();
    }
  });

  it('retries 429 and 5xx answers, waiting as long as Retry-After asks', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext(
      { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Too many requests' } } },
      { status: 500, body: 'Internal Server Error' },
      { status: 503, headers: { 'retry-after': '0' }, body: { error: 'Model is loading' } },
    );
    const result = await generator.generate(['Dear Anna,'], options());
    assert.equal(fake.requests.length, 4);
    assert.match(result.prompts[0].sequences[0].text, /Dear Anna/);
    const gap = fake.requests[1].receivedAt - fake.requests[0].receivedAt;
    assert.ok(gap >= 950, `Retry-After: 1 was honoured (${gap.toFixed(0)} ms)`);
  });

  it('gives up after the retries with the last error, and at once when Retry-After is too long', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext(...Array.from({ length: 4 }, () => ({ status: 429, body: { error: { message: 'Rate limit reached' } } })));
    const busy = await failure(generator.generate(['x'], options()));
    assert.equal(busy.code, 'serverBusy');
    assert.equal(busy.params?.attempts, 4);
    assert.equal(busy.params?.detail, 'Rate limit reached');
    assert.equal(fake.requests.length, 4);

    fake.reset();
    fake.answerNext(...Array.from({ length: 4 }, () => ({ status: 502, body: 'Bad gateway' })));
    const failed = await failure(generator.generate(['x'], options()));
    assert.equal(failed.code, 'serverFailed');
    assert.equal(failed.params?.status, 502);

    fake.reset();
    fake.answerNext({ status: 429, headers: { 'retry-after': '120' }, body: { error: { message: 'come back later' } } });
    const late = await failure(generator.generate(['x'], options()));
    assert.equal(late.code, 'serverRetryTooLate');
    assert.equal(late.params?.seconds, 120);
    assert.equal(fake.requests.length, 1);
  });

  it('does not retry other 4xx answers, and names what to check', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext({ status: 400, body: { object: 'error', message: "This model's maximum context length is 1024 tokens." } });
    const rejected = await failure(generator.generate(['x'], options()));
    assert.equal(rejected.code, 'serverRejected');
    assert.equal(rejected.params?.detail, "This model's maximum context length is 1024 tokens.");
    assert.equal(fake.requests.length, 1);

    const wrongKey = await failure(new OpenAiTextGenerator(spec(fake, {}, 'sk-wrong'), FAST).generate(['x'], options()));
    assert.equal(wrongKey.code, 'serverUnauthorized');
    assert.equal(wrongKey.params?.status, 401);
    const noKey = await failure(new OpenAiTextGenerator(spec(fake, {}, ''), FAST).generate(['x'], options()));
    assert.equal(noKey.code, 'serverUnauthorized');
    assert.equal(fake.requests.at(-1)?.headers.authorization, undefined, 'no key, no header');

    const wrongModel = await failure(new OpenAiTextGenerator(spec(fake, { serverModel: 'acme/other' }), FAST).generate(['x'], options()));
    assert.equal(wrongModel.code, 'serverNotFound');
    const wrongPath = await failure(new OpenAiTextGenerator(spec(fake, { baseUrl: fake.baseUrl.replace('/v1', '/api/v1') }), FAST).generate(['x'], options()));
    assert.equal(wrongPath.code, 'serverNotFound');
    assert.equal(fake.requests.length, 5, 'one request each');
  });

  it('fails a malformed answer at once with what was wrong and a sample of it', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext({ body: '{"choices": [{"text": "unfinished' });
    const notJson = await failure(generator.generate(['x'], options()));
    assert.equal(notJson.code, 'serverBadAnswer');
    assert.equal(notJson.params?.reason, 'the answer is not JSON');
    assert.equal(notJson.params?.sample, '{"choices": [{"text": "unfinished');
    fake.answerNext({ body: { data: [] } });
    assert.equal((await failure(generator.generate(['x'], options()))).params?.reason, 'the answer has no "choices" array');
    // Ollama and TGI's Messages API return one text whatever n asks for.
    fake.answerNext({ body: { choices: [{ index: 0, text: 'one', finish_reason: 'stop' }] } });
    const fewer = await failure(generator.generate(['x'], options({ num_return_sequences: 3 })));
    assert.match(String(fewer.params?.reason), /3 texts were asked for/);
    assert.equal(fake.requests.length, 3, 'not retried');
  });

  it('retries a dropped connection, and reports it when it keeps dropping', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext({ drop: 'beforeHeaders' }, { drop: 'midBody' });
    const result = await generator.generate(['Dear Anna,'], options());
    assert.equal(fake.requests.length, 3);
    assert.match(result.prompts[0].sequences[0].text, /Dear Anna/);

    fake.reset();
    fake.answerNext(...Array.from({ length: 4 }, () => ({ drop: 'beforeHeaders' as const })));
    const dropped = await failure(generator.generate(['x'], options()));
    assert.equal(dropped.code, 'serverDropped');
    assert.equal(dropped.params?.attempts, 4);
    assert.equal(fake.requests.length, 4);
  });

  it('reports a refused connection, an untrusted certificate and a bad URL clearly, without retrying', async () => {
    const port = await closedPort();
    const refused = await failure(new OpenAiTextGenerator(spec(fake, { baseUrl: `http://127.0.0.1:${port}/v1` }), FAST).generate(['x'], options()));
    assert.equal(refused.code, 'serverUnreachable');
    assert.match(String(refused.params?.reason), /ECONNREFUSED/);

    const tlsDir = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
    const secure = await FakeOpenAiServer.start({ tls: { key: readFileSync(join(tlsDir, 'self-signed.key')), cert: readFileSync(join(tlsDir, 'self-signed.crt')) } });
    try {
      const tls = await failure(new OpenAiTextGenerator(spec(secure), FAST).generate(['x'], options()));
      assert.equal(tls.code, 'serverTls');
      assert.match(String(tls.params?.reason), /SELF_SIGNED|self.signed/i);
      assert.equal(secure.requests.length, 0, 'nothing was sent over the untrusted connection');
    } finally {
      await secure.close();
    }

    for (const baseUrl of ['ftp://files.example.com/v1', 'localhost:8000', 'http://admin:hunter2@gpu:8000/v1']) {
      assert.throws(() => new OpenAiTextGenerator(spec(fake, { baseUrl }), FAST), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'serverBadUrl');
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      });
    }
    assert.throws(() => new OpenAiTextGenerator(spec(fake, { maxInFlight: 0 }), FAST), { code: 'serverBadInFlight' });
  });

  it('does not follow redirects, so the key only goes where it was configured to go', async () => {
    fake.answerNext({ status: 307, headers: { location: 'http://elsewhere.example.com/v1/completions?token=abc' }, body: '' });
    const redirected = await failure(new OpenAiTextGenerator(spec(fake), FAST).generate(['x'], options()));
    assert.equal(redirected.code, 'serverRedirected');
    assert.equal(redirected.params?.location, 'http://elsewhere.example.com/v1/completions');
    assert.equal(fake.requests.length, 1);
  });

  it('stops waiting and aborts the request when the signal aborts (timeout, close)', async () => {
    const generator = new OpenAiTextGenerator(spec(fake), FAST);
    fake.answerNext({ delayMs: 5000 });
    const controller = new AbortController();
    const pending = generator.generate(['x'], options(), { signal: controller.signal });
    while (fake.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = Object.assign(new Error('The generation took longer than 0.1 s'), { code: 'timeout' });
    controller.abort(reason);
    assert.equal(await failure(pending), reason);
    while (fake.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  it('fails the whole message on the first failed prompt and stops the others', async () => {
    const registry = new ModelRegistry((s) => Promise.resolve(new OpenAiTextGenerator(s as ServerModelSpec, FAST)));
    const lease = registry.acquire(spec(fake, { maxInFlight: 1 }));
    fake.answerNext({ status: 400, body: { error: { message: 'bad prompt' } } });
    const error = await failure(lease.model.generate(['a', 'b', 'c', 'd'], options()));
    assert.equal(error.code, 'serverRejected');
    assert.equal(fake.requests.length, 1, 'the queued prompts were not sent');
    await lease.release();
  });

  it('sends only OpenAI fields to a strict server with extra fields "none"', async () => {
    const strict = await FakeOpenAiServer.start({ strictFields: true });
    try {
      const vllm = await failure(new OpenAiTextGenerator(spec(strict), FAST).generate(['x'], options()));
      assert.equal(vllm.code, 'serverRejected');
      assert.match(String(vllm.params?.detail), /Unrecognized request argument supplied: (top_k|repetition_penalty)/);
      const result = await new OpenAiTextGenerator(spec(strict, { extraFields: 'none' }), FAST).generate(['x'], options());
      assert.equal(result.prompts.length, 1);
    } finally {
      await strict.close();
    }
  });

  it('keeps the API key out of JSON, inspection, errors and model keys', async () => {
    const key = new ApiKey(` ${KEY}\n`);
    assert.equal(key.reveal(), KEY);
    assert.equal(JSON.stringify({ key }), '{"key":"[redacted]"}');
    assert.equal(`${key}`, '[redacted]');
    assert.doesNotMatch(inspect(spec(fake), { depth: 5 }), new RegExp(KEY));
    assert.doesNotMatch(JSON.stringify(spec(fake)), new RegExp(KEY));
    // A server that echoes the key back in its error text.
    fake.answerNext({ status: 400, body: { error: { message: `key ${KEY} is not allowed for this model` } } });
    const error = await failure(new OpenAiTextGenerator(spec(fake), FAST).generate(['x'], options()));
    assert.doesNotMatch(`${error.message} ${JSON.stringify(error.params)}`, new RegExp(KEY));
    assert.match(error.message, /\[redacted\]/);
    // A long text is cut (300 characters of detail, 120 of a bad answer): the key is redacted
    // first, so that not even its beginning survives where the cut would fall inside it.
    const head = KEY.slice(0, 8);
    fake.answerNext({ status: 500, body: { error: { message: `${'x'.repeat(280)} key=${KEY} more` } } });
    const long = await failure(new OpenAiTextGenerator(spec(fake), { ...FAST, retries: 0 }).generate(['x'], options()));
    assert.equal(long.code, 'serverFailed');
    assert.match(String(long.params?.detail), /key=\[redac/);
    assert.ok(!`${long.message} ${JSON.stringify(long.params)}`.includes(head), long.message);
    fake.answerNext({ body: `${'y'.repeat(100)} key=${KEY} more` });
    const sample = await failure(new OpenAiTextGenerator(spec(fake), FAST).generate(['x'], options()));
    assert.equal(sample.code, 'serverBadAnswer');
    assert.match(String(sample.params?.sample), /key=\[redac/);
    assert.ok(!`${sample.message} ${JSON.stringify(sample.params)}`.includes(head), sample.message);
    // Two keys are two models (their own limits), told apart without the key itself.
    const registry = new ModelRegistry();
    const a = registry.acquire(spec(fake));
    const b = registry.acquire(spec(fake, {}, 'sk-other'));
    assert.notEqual(a.model, b.model);
    await a.release();
    await b.release();
  });
});
