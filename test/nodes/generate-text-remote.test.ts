/**
 * marketing-generate-text with a marketing-llm node on the inference-server backend, in the
 * real Node-RED runtime (test helper), against the FAKE OpenAI-compatible server of the test
 * suite: the message contract, the per-model in-flight limit, queue and timeout, errors with
 * a red status, close, and the API key kept out of everything a flow can see.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import generateTextNode from '../../nodes/generate-text/generate-text';
import llmNode from '../../nodes/llm/llm';
import { FakeOpenAiServer } from '../support/fake-openai-server';
import { collect } from '../support/collect';

helper.init(require.resolve('node-red'));

type Message = Record<string, unknown>;
type ReportedError = Error & { code?: string; params?: Record<string, unknown> };

const KEY = 'sk-live-do-not-leak-4f1c2e';
const userDir = mkdtempSync(join(tmpdir(), 'generate-text-remote-'));

function flow(fake: FakeOpenAiServer, llm: Message = {}, node: Message = {}): Message[] {
  return [
    { id: 'tab', type: 'tab', label: 'remote' },
    { id: 'llm', type: 'marketing-llm', backend: 'openai', baseUrl: fake.baseUrl, serverModel: 'acme/gpt2', maxInFlight: 2, ...llm },
    // x and y make them flow nodes: Node-RED takes a node without a position for a config node.
    { id: 'gen', z: 'tab', x: 100, y: 40, type: 'marketing-generate-text', llm: 'llm', max_new_tokens: 8, ...node, wires: [['out']] },
    { id: 'gen2', z: 'tab', x: 100, y: 80, type: 'marketing-generate-text', llm: 'llm', max_new_tokens: 8, wires: [['out']] },
    { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
    { id: 'catch', z: 'tab', x: 100, y: 120, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', x: 300, y: 120, type: 'helper', wires: [] },
  ];
}

async function load(fake: FakeOpenAiServer, llm: Message = {}, node: Message = {}, apiKey = KEY): Promise<void> {
  await helper.load([llmNode, generateTextNode], flow(fake, llm, node), { llm: { apiKey } });
}

function callsOf(id: string, method: 'error' | 'status' | 'warn'): unknown[][] {
  const target = helper.getNode(id);
  const spy = target[method] as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy.getCalls().filter((call) => call.thisValue === target).map((call) => call.args);
}

function statuses(id = 'gen'): { fill?: string; text?: string }[] {
  return callsOf(id, 'status').map((args) => args[0] as { fill?: string; text?: string });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function next(id: string): Promise<Message> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

async function generate(msg: Message, node = 'gen'): Promise<Message> {
  const output = next('out');
  helper.getNode(node).receive(msg);
  return output;
}

/** Sends `msg`, expects a failure a Catch node sees; returns the reported error. */
async function generateError(msg: Message): Promise<ReportedError> {
  const caught = next('caught');
  helper.getNode('gen').receive(msg);
  const { error } = (await caught) as { error: { code?: string } };
  const reported = callsOf('gen', 'error').at(-1)?.[0] as ReportedError;
  assert.equal(error.code, reported.code);
  return reported;
}

describe('marketing-generate-text on an inference server (fake OpenAI-compatible server)', function () {
  this.timeout(30_000);
  let fake: FakeOpenAiServer;

  before(async () => {
    helper.settings({ userDir });
    fake = await FakeOpenAiServer.start({ apiKey: KEY, model: 'acme/gpt2' });
  });
  after(async () => {
    await fake.close();
    helper.settings({});
    rmSync(userDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
    fake.reset();
  });

  it('keeps the message contract: msg.payload, msg.generation with the server usage, other properties passed on', async () => {
    await load(fake);
    const contact = { email: 'anna@example.com' };
    const out = await generate({ prompt: 'Write to Anna:', contact, options: { seed: 5, temperature: 0.7, stop: ['\n\n'] } });
    assert.equal(out.payload, 'continuation 0 of "Write to Anna:"');
    assert.deepEqual(out.contact, contact);
    const generation = out.generation as Record<string, unknown>;
    assert.equal(generation.model, 'acme/gpt2');
    assert.equal(generation.seed, 5);
    assert.equal(generation.promptTokens, 3, "the server's usage.prompt_tokens");
    assert.equal(generation.newTokens, 8, "the server's usage.completion_tokens");
    assert.equal(generation.finishReason, 'length');
    assert.equal(generation.promptTruncated, false);
    const body = fake.requests[0].body ?? {};
    assert.deepEqual(
      { max_tokens: body.max_tokens, temperature: body.temperature, top_p: body.top_p, top_k: body.top_k, seed: body.seed, stop: body.stop },
      { max_tokens: 8, temperature: 0.7, top_p: 0.95, top_k: 50, seed: 5, stop: ['\n\n'] },
    );
    assert.equal(fake.requests[0].headers.authorization, `Bearer ${KEY}`);
    assert.ok(statuses().some((s) => s.fill === 'green' && s.text === 'generate-text.status.ready'));

    const batch = await generate({ payload: ['First,', 'Second,'], options: { num_return_sequences: 2 } });
    assert.deepEqual(batch.payload, [
      ['continuation 0 of "First,"', 'continuation 1 of "First,"'],
      ['continuation 0 of "Second,"', 'continuation 1 of "Second,"'],
    ]);
    assert.equal((batch.generation as Record<string, unknown>).newTokens, 32);
  });

  it('sends up to the in-flight limit at once for all nodes on the model, not one at a time', async () => {
    const slow = await FakeOpenAiServer.start({ apiKey: KEY, delayMs: 80 });
    try {
      await load(slow, { maxInFlight: 3 });
      const sent = collect<Message>('out');
      for (let i = 0; i < 6; i++) helper.getNode(i % 2 ? 'gen2' : 'gen').receive({ prompt: `prompt ${i}`, n: i });
      helper.getNode('gen').receive({ payload: ['batch a', 'batch b', 'batch c'], n: 6 });
      await waitFor(() => sent.length === 7, 'seven messages');
      assert.equal(slow.requests.length, 9);
      assert.equal(slow.maxInFlight, 3);
      assert.deepEqual(
        sent.map((m) => m.n).sort(),
        [0, 1, 2, 3, 4, 5, 6],
      );
    } finally {
      await slow.close();
    }
  });

  it('applies the queue limit and the timeout as for the local model', async () => {
    await load(fake, { maxInFlight: 1 }, { maxQueue: 1, timeout: 0.3 });
    const sent = collect<Message>('out');
    const caught = collect<Message>('caught');
    fake.answerNext({ delayMs: 100 });
    for (let i = 0; i < 3; i++) helper.getNode('gen').receive({ prompt: `p${i}`, n: i });
    await waitFor(() => sent.length + caught.length === 3, 'three outcomes');
    assert.deepEqual(sent.map((m) => m.n), [0]);
    assert.deepEqual(caught.map((m) => [m.n, (m.error as ReportedError).code]), [
      [1, 'queueFull'],
      [2, 'queueFull'],
    ]);

    fake.answerNext({ delayMs: 3000 });
    const timedOut = await generateError({ prompt: 'slow' });
    assert.equal(timedOut.code, 'timeout');
    assert.ok(statuses().some((s) => s.fill === 'red' && s.text === 'generate-text.errors.timeout'));
    await waitFor(() => fake.inFlight === 0, 'the timed-out request to be aborted');
  });

  it("sends the reference call's options with max_new_tokens beside max_length as max_tokens", async () => {
    await load(fake);
    const options = { max_length: 100, max_new_tokens: 40, do_sample: true, top_k: 50, top_p: 0.95, num_return_sequences: 3, seed: 1 };
    const out = await generate({ prompt: 'Write to Anna:', options });
    assert.equal((out.payload as string[]).length, 3);
    const body = fake.requests[0].body ?? {};
    assert.deepEqual({ max_tokens: body.max_tokens, top_k: body.top_k, top_p: body.top_p, n: body.n }, { max_tokens: 40, top_k: 50, top_p: 0.95, n: 3 });
    // transformers warns too; the test runtime shows catalog keys.
    assert.deepEqual(callsOf('gen', 'warn'), [['generate-text.warnings.lengthOverridden']]);
  });

  it('reports server failures with their codes and a red status, and goes on', async () => {
    await load(fake);
    fake.answerNext(...Array.from({ length: 4 }, () => ({ status: 503, headers: { 'retry-after': '0' }, body: { error: 'overloaded' } })));
    const failed = await generateError({ prompt: 'x' });
    assert.equal(failed.code, 'serverFailed');
    assert.equal(failed.message, 'generate-text.errors.serverFailed');
    assert.equal(fake.requests.length, 4, 'tried four times');
    fake.answerNext({ body: '{"choices": oops' });
    assert.equal((await generateError({ prompt: 'x' })).code, 'serverBadAnswer');
    assert.equal((await generateError({ prompt: 'x', options: { no_repeat_ngram_size: 2 } })).code, 'serverOptionUnsupported');
    const requests = fake.requests.length;
    const maxLength = await generateError({ prompt: 'x', options: { max_length: 100 } });
    assert.equal(maxLength.code, 'serverLengthUnsupported');
    assert.equal(maxLength.message, 'generate-text.errors.serverLengthUnsupported');
    assert.deepEqual(maxLength.params, { option: 'max_length', value: 100, instead: 'max_new_tokens' });
    assert.equal(fake.requests.length, requests, 'nothing was sent');
    assert.ok(statuses().some((s) => s.fill === 'red'));
    const out = await generate({ prompt: 'after the errors' });
    assert.equal(out.payload, 'continuation 0 of "after the errors"');
    assert.ok(statuses().at(-1)?.fill === 'green');
  });

  it('reports a refused connection, an untrusted certificate and a bad URL', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await load(fake, { baseUrl: `http://127.0.0.1:${port}/v1` });
    const refused = await generateError({ prompt: 'x' });
    assert.equal(refused.code, 'serverUnreachable');
    assert.ok(statuses().some((s) => s.fill === 'red' && s.text === 'generate-text.errors.serverUnreachable'));
    await helper.unload();

    const tlsDir = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
    const secure = await FakeOpenAiServer.start({ tls: { key: readFileSync(join(tlsDir, 'self-signed.key')), cert: readFileSync(join(tlsDir, 'self-signed.crt')) } });
    try {
      await load(secure);
      assert.equal((await generateError({ prompt: 'x' })).code, 'serverTls');
      assert.ok(statuses().some((s) => s.fill === 'red' && s.text === 'generate-text.errors.serverTls'));
      await helper.unload();
    } finally {
      await secure.close();
    }

    await load(fake, { baseUrl: 'gpu-1:8000' });
    await waitFor(() => statuses().some((s) => s.fill === 'red'), 'a red status at deploy');
    assert.equal((callsOf('gen', 'error')[0][0] as ReportedError).code, 'serverBadUrl');
    assert.equal((await generateError({ prompt: 'x' })).code, 'serverBadUrl');
  });

  it('on close, ends queued and running messages with an error and aborts their requests', async () => {
    await load(fake, { maxInFlight: 1 });
    const gen = helper.getNode('gen');
    const errors: ReportedError[] = [];
    const reporter = gen as unknown as { error: (err: unknown, msg?: unknown) => void };
    const report = reporter.error.bind(gen);
    reporter.error = (err, msg) => {
      errors.push(err as ReportedError);
      report(err, msg);
    };
    fake.answerNext({ delayMs: 5000 });
    for (let i = 0; i < 3; i++) gen.receive({ prompt: `p${i}` });
    await waitFor(() => fake.inFlight === 1, 'the first request');
    await helper.unload();
    assert.deepEqual(
      errors.map((e) => e.code),
      ['closed', 'closed', 'closed'],
    );
    await waitFor(() => fake.inFlight === 0, 'the request to be aborted');
    assert.equal(fake.requests.length, 1);
  });

  it('keeps the API key out of messages, errors and statuses, and warns when it would cross plain HTTP', async () => {
    await load(fake);
    const out = await generate({ prompt: 'x' });
    fake.answerNext({ status: 400, body: { error: { message: `bad key ${KEY}` } } });
    const error = await generateError({ prompt: 'x' });
    const seen = JSON.stringify({ out, error: { ...error, message: error.message }, statuses: statuses(), warnings: callsOf('gen', 'warn') });
    assert.doesNotMatch(seen, new RegExp(KEY));
    assert.equal(error.params?.detail, 'bad key [redacted]');
    assert.equal(callsOf('llm', 'warn').length, 0, 'loopback http: no warning');
    await helper.unload();

    await load(fake, { baseUrl: 'http://gpu-1.example.com:8000/v1' });
    assert.deepEqual(callsOf('llm', 'warn').map((args) => args[0]), ['llm.warnings.keyOverHttp']);
    await helper.unload();
    await load(fake, { baseUrl: 'https://gpu-1.example.com/v1' });
    assert.equal(callsOf('llm', 'warn').length, 0);
  });
});
