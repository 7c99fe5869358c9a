/**
 * Example 04, "Serve the local model over the OpenAI API", in a real Node-RED process with
 * real HTTP callers: a redeploy (full, or of the modified nodes only) while requests wait for
 * the model must leave no caller without an answer and log one line with their number; a
 * model that fails to load must not show its files to callers without the API key.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_MODEL_DIR } from '../../lib/generation/model-loader';
import { nodeOf, readExample, type FlowNode } from '../support/examples';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';

interface Answer { status: number; retryAfter: string | null; body: { error?: { message: string; code: string | null } } }

const ENDED = /\[warn\] \[marketing-generate-text:[^\]]*\] The flows were stopped or redeployed while (\d+) messages were waiting/g;

describe('example 04: serve the local model over the OpenAI API', function () {
  this.timeout(180_000);
  const base = mkdtempSync(join(tmpdir(), 'marketing-example-04-'));
  const example = readExample('04 - Serve the local model over the OpenAI API');
  let red: RunningNodeRed;

  before(async () => {
    red = await startNodeRed({ userDir: join(base, 'user'), linkPackage: true, flows: example });
    await red.waitForOutput(/Started flows/);
  });
  after(async () => {
    await red?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  async function complete(body: Record<string, unknown>): Promise<Answer> {
    const response = await fetch(new URL('v1/completions', red.url), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Answer['body'] };
  }

  async function deploy(flows: FlowNode[], type: 'full' | 'nodes'): Promise<void> {
    const mark = red.output().length;
    const response = await fetch(new URL('flows', red.url), {
      method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': type }, body: JSON.stringify(flows),
    });
    assert.ok(response.ok, `deploy: HTTP ${response.status} ${await response.text()}`);
    await red.waitForOutput(type === 'full' ? /Started flows/ : /Started modified nodes/, mark);
  }

  for (const type of ['full', 'nodes'] as const) {
    it(`answers every caller when a ${type === 'full' ? 'full' : 'modified nodes'} redeploy ends the queue, and logs how many it ended`, async () => {
      const mark = red.output().length;
      // Long texts, so that most requests still wait for the model when the deploy comes.
      const callers = Array.from({ length: 30 }, (_, i) => complete({ prompt: `Welcome email number ${i}:`, max_tokens: 200, min_tokens: 200, seed: i }));
      const first = await Promise.race(callers);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      // A modified-nodes deploy restarts only the generate-text node: its Catch path keeps running.
      const flows = type === 'full' ? example : example.map((node) => (node.type === 'marketing-generate-text' ? { ...node, maxQueue: 99 } : node));
      await deploy(flows, type);
      const answers = await Promise.all(callers);
      const ended = answers.filter((answer) => answer.status === 503);
      assert.ok(ended.length > 0, 'the deploy ended some requests');
      assert.deepEqual(answers.filter((answer) => answer.status !== 200 && answer.status !== 503), [], 'only texts and 503s');
      for (const answer of ended) {
        assert.equal(answer.body.error?.code, 'closed');
        assert.equal(answer.retryAfter, '5');
      }
      const lines = [...red.output().slice(mark).matchAll(ENDED)];
      assert.equal(lines.length, 1, red.output().slice(mark));
      assert.equal(Number(lines[0][1]), ended.length);
      assert.doesNotMatch(red.output().slice(mark), /ERR_HTTP_HEADERS_SENT|Cannot set headers/);
      // The redeployed flow serves again.
      const after = await complete({ prompt: 'Hello', max_tokens: 4 });
      assert.equal(after.status, 200, JSON.stringify(after.body) + red.output().slice(mark));
    });
  }

  it('tells a caller without the API key only that the model failed; the log has the details, named by file, not content', async () => {
    const folder = join(base, 'broken-model');
    cpSync(BUNDLED_MODEL_DIR, folder, { recursive: true });
    writeFileSync(join(folder, 'tokenizer.json'), 'root:x:0:0:root:/root:/bin/bash\n');
    const llm = nodeOf(example, 'marketing-llm');
    const mark = red.output().length;
    await deploy(example.map((node) => (node.id === llm.id ? { ...node, source: 'folder', folder } : node)), 'full');
    const answer = await complete({ prompt: 'Hello', max_tokens: 4 });
    assert.equal(answer.status, 500);
    assert.equal(answer.body.error?.message, 'The model failed to generate. The details are in the log of the Node-RED that serves it.');
    const shown = JSON.stringify(answer.body);
    assert.ok(!shown.includes(folder) && !shown.includes('tokenizer.json') && !shown.includes('root:x'), shown);
    await red.waitForOutput(/Could not load tokenizer\.json of model broken-model: not valid JSON/, mark);
    assert.doesNotMatch(red.output().slice(mark), /root:x/);
  });
});
