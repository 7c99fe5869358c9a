/**
 * A true two-process round trip, with no fake in it: Node-RED A runs example 04 (the
 * package's local backend behind an HTTP In flow answering POST /v1/completions in the
 * OpenAI format); Node-RED B, deployed through the Admin API with the API key as a
 * credential, generates through A with marketing-generate-text on the server backend. B's
 * texts must be exactly what the local model gives for the same prompt, options and seed,
 * and the key must appear nowhere but on the wire.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLocalModel, resolveLocalModelSpec } from '../../lib/generation/model-loader';
import type { OnnxTextGenerator } from '../../lib/generation/onnx-generator';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';
import { getJson, startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { PACKAGE_ROOT } from '../support/package-link';

const EXAMPLE = join(PACKAGE_ROOT, 'examples', '04 - Serve the local model over the OpenAI API.json');
const KEY = 'sk-round-trip-7d3f9a1b2c';
const PROMPT = 'Write a short welcome email for Anna, a new customer in Berlin:';

type Reply = { text: string | string[]; generation: Record<string, unknown> };

/** The client's flow: POST /generate {prompt, options} -> generate-text (server backend) -> {text, generation}. */
function clientFlow(baseUrl: string): Record<string, unknown>[] {
  const unpack = 'msg.prompt = msg.payload.prompt; msg.options = msg.payload.options; return msg;';
  const reply = 'msg.payload = { text: msg.payload, generation: msg.generation }; return msg;';
  const failure = 'msg.statusCode = 502; msg.payload = { code: msg.error.code, message: msg.error.message }; return msg;';
  const server = { type: 'marketing-llm', backend: 'openai', baseUrl, serverModel: 'demo-gpt2', endpoint: 'completions', extraFields: 'vllm' };
  return [
    { id: 'client', type: 'tab', label: 'client' },
    { id: 'server', ...server, maxInFlight: 4, credentials: { apiKey: KEY } },
    { id: 'wrongKey', ...server, maxInFlight: 1, credentials: { apiKey: 'sk-wrong-key-0000' } },
    { id: 'in', type: 'http in', z: 'client', url: '/generate', method: 'post', x: 100, y: 40, wires: [['unpack']] },
    { id: 'inWrong', type: 'http in', z: 'client', url: '/generate-wrong-key', method: 'post', x: 100, y: 100, wires: [['unpackWrong']] },
    { id: 'unpack', type: 'function', z: 'client', func: unpack, outputs: 1, x: 250, y: 40, wires: [['gen']] },
    { id: 'unpackWrong', type: 'function', z: 'client', func: unpack, outputs: 1, x: 250, y: 100, wires: [['genWrong']] },
    { id: 'gen', type: 'marketing-generate-text', z: 'client', llm: 'server', max_new_tokens: 16, timeout: 120, x: 400, y: 40, wires: [['reply']] },
    { id: 'genWrong', type: 'marketing-generate-text', z: 'client', llm: 'wrongKey', x: 400, y: 100, wires: [['reply']] },
    { id: 'reply', type: 'function', z: 'client', func: reply, outputs: 1, x: 550, y: 40, wires: [['response']] },
    { id: 'catch', type: 'catch', z: 'client', scope: ['gen', 'genWrong'], uncaught: false, x: 400, y: 160, wires: [['fail']] },
    { id: 'fail', type: 'function', z: 'client', func: failure, outputs: 1, x: 550, y: 160, wires: [['response']] },
    { id: 'response', type: 'http response', z: 'client', statusCode: '', headers: {}, x: 700, y: 40, wires: [] },
  ];
}

describe('two Node-RED processes: example 04 serves the local model, a second instance generates through it', function () {
  this.timeout(180_000);
  const base = mkdtempSync(join(tmpdir(), 'marketing-round-trip-'));
  let server: RunningNodeRed | undefined;
  let client: RunningNodeRed | undefined;
  let clientDir: string;
  let local: OnnxTextGenerator;

  /** What the local model gives for `options`, in this process, without Node-RED or HTTP. */
  async function localTexts(prompt: string, options: Record<string, unknown>) {
    const result = await local.generate([prompt], resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, options));
    return result.prompts[0];
  }

  async function generate(options: Record<string, unknown>, path = 'generate', prompt = PROMPT): Promise<{ status: number; body: Reply & { code?: string; message?: string } }> {
    const response = await fetch(new URL(path, client?.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, options }),
    });
    return { status: response.status, body: (await response.json()) as Reply };
  }

  before(async () => {
    local = await loadLocalModel(resolveLocalModelSpec({}, base), () => undefined);

    const flows = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as unknown[];
    server = await startNodeRed({ userDir: join(base, 'server'), linkPackage: true, flows, env: { MARKETING_API_KEY: KEY } });
    await server.waitForOutput(/Started flows/);

    clientDir = join(base, 'client');
    client = await startNodeRed({ userDir: clientDir, linkPackage: true });
    // The empty flows start first; the deployed ones are those started after the deploy.
    await client.waitForOutput(/Started flows/);
    const mark = client.output().length;
    const deployed = await fetch(new URL('flows', client.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(clientFlow(`${server.url}v1`)),
    });
    assert.ok(deployed.ok, `deploy: HTTP ${deployed.status} ${await deployed.text()}`);
    await client.waitForOutput(/Started flows/, mark);
  });

  after(async () => {
    await client?.stop();
    await server?.stop();
    await local?.dispose();
    rmSync(base, { recursive: true, force: true });
  });

  it('gives the greedy text of the local model, with its token counts', async () => {
    const options = { do_sample: false, max_new_tokens: 24 };
    const { status, body } = await generate(options);
    assert.equal(status, 200, JSON.stringify(body));
    const expected = await localTexts(PROMPT, options);
    assert.ok(expected.sequences[0].text.length > 0);
    assert.equal(body.text, expected.sequences[0].text);
    assert.equal(body.generation.model, 'demo-gpt2');
    assert.equal(body.generation.promptTokens, expected.promptTokens);
    assert.equal(body.generation.newTokens, expected.sequences[0].newTokens);
    assert.equal(body.generation.finishReason, expected.sequences[0].finishReason === 'length' ? 'length' : 'eos');
  });

  it('gives the same seeded samples: temperature, top_k, top_p, repetition_penalty and n cross the wire', async () => {
    const options = { seed: 7, temperature: 0.8, top_k: 40, top_p: 0.9, repetition_penalty: 1.1, max_new_tokens: 20, num_return_sequences: 2 };
    const { status, body } = await generate(options);
    assert.equal(status, 200, JSON.stringify(body));
    const expected = await localTexts(PROMPT, options);
    assert.deepEqual(body.text, expected.sequences.map((s) => s.text));
    assert.equal(body.generation.seed, 7);
  });

  it('stops at a stop string as the local model does', async () => {
    const greedy = await localTexts(PROMPT, { do_sample: false, max_new_tokens: 24 });
    const stop = greedy.sequences[0].text.split(/\s+/)[2];
    const options = { do_sample: false, max_new_tokens: 24, stop: [stop] };
    const { body } = await generate(options);
    const expected = await localTexts(PROMPT, options);
    assert.equal(expected.sequences[0].finishReason, 'stop');
    assert.equal(body.text, expected.sequences[0].text);
    assert.equal(body.generation.finishReason, 'stop');
  });

  it('serves concurrent messages, each with its own seed, in full', async () => {
    const prompts = ['Dear Tom,', 'Our spring sale starts', 'Thank you for your order', 'Welcome to Acme,', '尊敬的客户，', 'New in store:'];
    const replies = await Promise.all(prompts.map((prompt, i) => generate({ seed: i + 1, max_new_tokens: 12 }, 'generate', prompt)));
    for (const [i, { status, body }] of replies.entries()) {
      assert.equal(status, 200, JSON.stringify(body));
      const expected = await localTexts(prompts[i], { seed: i + 1, max_new_tokens: 12 });
      assert.equal(body.text, expected.sequences[0].text, prompts[i]);
    }
  });

  it('answers like an OpenAI server itself: 401 without the key, 400 with an OpenAI error for a bad option', async () => {
    const post = async (body: unknown, key?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      const response = await fetch(new URL('v1/completions', server?.url), { method: 'POST', headers, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { error?: { type: string; code?: string }; choices?: unknown[] } };
    };
    const noKey = await post({ prompt: 'Hello', max_tokens: 2 });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.body.error?.type, 'authentication_error');
    const badOption = await post({ prompt: 'Hello', top_p: 2 }, KEY);
    assert.equal(badOption.status, 400);
    assert.deepEqual([badOption.body.error?.type, badOption.body.error?.code], ['invalid_request_error', 'badPositiveNumber']);
    const ok = await post({ prompt: 'Hello', max_tokens: 2, seed: 1 }, KEY);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.choices?.length, 1);
  });

  it('fails with serverUnauthorized when the key is wrong', async () => {
    const { status, body } = await generate({ max_new_tokens: 4 }, 'generate-wrong-key');
    assert.equal(status, 502);
    assert.equal(body.code, 'serverUnauthorized');
    assert.match(String(body.message), /API key/);
  });

  it('keeps the API key out of the flows, the flow file, the logs and the answers', async () => {
    const flows = JSON.stringify(await getJson<unknown>(client?.url as string, 'flows'));
    assert.doesNotMatch(flows, new RegExp(KEY));
    assert.match(flows, /"backend":"openai"/);
    const credentials = await getJson<Record<string, unknown>>(client?.url as string, 'credentials/marketing-llm/server');
    assert.deepEqual(credentials, { has_apiKey: true });
    assert.doesNotMatch(readFileSync(join(clientDir, 'flows.json'), 'utf8'), new RegExp(KEY));
    assert.doesNotMatch(readFileSync(join(clientDir, 'flows_cred.json'), 'utf8'), new RegExp(KEY), 'encrypted');
    const { body } = await generate({ max_new_tokens: 4 }, 'generate-wrong-key');
    assert.doesNotMatch(JSON.stringify(body), /sk-wrong-key-0000|sk-round-trip/);
    assert.doesNotMatch(client?.output() ?? '', /sk-round-trip|sk-wrong-key/);
    assert.doesNotMatch(server?.output() ?? '', new RegExp(KEY));
  });
});
