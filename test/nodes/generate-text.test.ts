import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import helper from 'node-red-node-test-helper';
import { resolveModelSpec } from '../../lib/generation/backends';
import { BUNDLED_MODEL_DIR } from '../../lib/generation/model-loader';
import { modelRegistry, type ModelLease } from '../../lib/generation/model-registry';
import { withTransformersEnv } from '../../lib/generation/transformers';
import generateTextNode from '../../nodes/generate-text/generate-text';
import llmNode from '../../nodes/llm/llm';
import { collect } from '../support/collect';

helper.init(require.resolve('node-red'));

type Message = Record<string, unknown>;
type ReportedError = Error & { code?: string; params?: Record<string, unknown> };
type Generation = {
  model: string;
  promptTokens: number;
  newTokens: number;
  durationMs: number;
  tokensPerSecond: number;
  finishReason: unknown;
  seed: number;
  promptTruncated: boolean;
};

const PROMPT = 'Write a short welcome email for Anna, a new customer in Berlin:';
const userDir = mkdtempSync(join(tmpdir(), 'generate-text-test-'));

/**
 * A tab with a marketing-llm config node (`llm` settings), the generate-text node
 * (`node` settings), its output and a Catch node. Small max_new_tokens keep tests fast.
 */
function flow(node: Message = {}, llm: Message | null = {}): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'generation' },
    ...(llm ? [{ id: 'llm', type: 'marketing-llm', source: 'bundled', ...llm }] : []),
    {
      id: 'gen',
      z: 'tab',
      x: 100,
      y: 40,
      type: 'marketing-generate-text',
      llm: llm ? 'llm' : '',
      max_new_tokens: 8,
      ...node,
      wires: [['out']],
    },
    { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
    { id: 'catch', z: 'tab', x: 100, y: 100, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', x: 300, y: 100, type: 'helper', wires: [] },
  ];
}

async function load(node: Message = {}, llm: Message | null = {}): Promise<void> {
  await helper.load([llmNode, generateTextNode], flow(node, llm));
}

function nextMessage(id: string): Promise<Message> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

/** Every call of `method` (a sinon spy the helper puts on every node) made by `node`. */
function callsOf(id: string, method: 'error' | 'status' | 'warn'): unknown[][] {
  const target = helper.getNode(id);
  const spy = target[method] as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy.getCalls().filter((call) => call.thisValue === target).map((call) => call.args);
}

/** The errors the node reported: `done(err)` is `node.error(err, msg)`. */
function reportedErrors(node = 'gen'): ReportedError[] {
  return callsOf(node, 'error').map((args) => args[0] as ReportedError);
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

/**
 * Sends `msg` to the generate-text node and resolves with whichever comes first: the text it
 * sends ('out') or the error a Catch node receives ('caught').
 */
function outcome(msg: Message): Promise<{ wire: 'out' | 'caught'; msg: Message }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (received: Message) => finish('out', received);
    const onCaught = (received: Message) => finish('caught', received);
    const finish = (wire: 'out' | 'caught', received: Message) => {
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve({ wire, msg: received });
    };
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode('gen').receive(msg);
  });
}

function describeOutcome({ msg }: { msg: Message }): string {
  const { payload, generation, error } = msg as { payload?: unknown; generation?: unknown; error?: unknown };
  return JSON.stringify({ payload, generation, error });
}

/** Sends `msg` to the generate-text node and resolves with the message it sends. */
async function generate(msg: Message): Promise<Message> {
  const result = await outcome(msg);
  assert.equal(result.wire, 'out', `expected a text, the node failed: ${describeOutcome(result)}`);
  return result.msg;
}

/**
 * Sends `msg` and resolves with the error the node reported (with its code and params),
 * after checking that a Catch node received it, with the same code.
 */
async function generateError(msg: Message): Promise<ReportedError> {
  const result = await outcome(msg);
  assert.equal(result.wire, 'caught', `expected an error, the node sent a text: ${describeOutcome(result)}`);
  const { error } = result.msg as { error: { code?: string; message: string } };
  const reported = reportedErrors().at(-1) as ReportedError;
  assert.equal(error.code, reported.code);
  assert.equal(error.message, `Error: ${reported.message}`);
  return reported;
}

describe('marketing-generate-text node', function () {
  this.timeout(60_000);
  // The suite keeps the bundled model loaded, so tests do not reload it each time; the
  // nodes share it through the registry exactly as two flows would.
  let suiteLease: ModelLease;

  before(async () => {
    helper.settings({ userDir });
    suiteLease = modelRegistry.acquire(resolveModelSpec({}, userDir));
    await suiteLease.model.load();
  });

  after(async () => {
    await suiteLease.release();
    helper.settings({});
    rmSync(userDir, { recursive: true, force: true });
  });

  afterEach(() => helper.unload());

  describe('generation', () => {
    it('continues msg.prompt, reports msg.generation and passes contact, segment and prompt through', async () => {
      await load();
      const contact = { email: 'ann@example.com' };
      const segment = { name: 'vip' };
      const out = await generate({ prompt: PROMPT, payload: 'ignored', contact, segment, options: { seed: 1 } });
      assert.equal(typeof out.payload, 'string');
      assert.ok((out.payload as string).length > 0);
      assert.deepEqual(out.contact, contact);
      assert.deepEqual(out.segment, segment);
      assert.equal(out.prompt, PROMPT);
      const generation = out.generation as Generation;
      assert.equal(generation.model, 'demo-gpt2');
      assert.ok(generation.promptTokens > 3);
      assert.ok(generation.newTokens >= 1 && generation.newTokens <= 8);
      assert.ok(['eos', 'length'].includes(generation.finishReason as string));
      assert.equal(generation.seed, 1);
      assert.ok(generation.durationMs >= 0 && generation.tokensPerSecond >= 0);
      assert.equal(generation.promptTruncated, false);
      assert.ok(statuses().some((s) => s.fill === 'green' && s.text === 'generate-text.status.ready'));
    });

    it('takes a string msg.payload when there is no msg.prompt, and uses the bundled model without a config node', async () => {
      await load({}, null);
      const out = await generate({ payload: PROMPT });
      assert.equal(typeof out.payload, 'string');
      assert.equal((out.generation as Generation).model, 'demo-gpt2');
    });

    it('gives the same text for the same seed, and reports the random seed it drew', async () => {
      await load({ max_new_tokens: 12 });
      const first = await generate({ prompt: PROMPT, options: { seed: 42 } });
      const second = await generate({ prompt: PROMPT, options: { seed: 42 } });
      const other = await generate({ prompt: PROMPT, options: { seed: 43 } });
      assert.equal(first.payload, second.payload);
      assert.notEqual(first.payload, other.payload);
      const unseeded = await generate({ prompt: PROMPT });
      const seed = (unseeded.generation as Generation).seed;
      assert.ok(Number.isInteger(seed));
      const replayed = await generate({ prompt: PROMPT, options: { seed } });
      assert.equal(replayed.payload, unseeded.payload);
    });

    it('returns num_return_sequences texts as an array, with a finish reason each', async () => {
      await load({ num_return_sequences: 3, seed: 5 });
      const out = await generate({ prompt: PROMPT });
      const texts = out.payload as string[];
      assert.ok(Array.isArray(texts));
      assert.equal(texts.length, 3);
      for (const text of texts) assert.equal(typeof text, 'string');
      assert.equal(new Set(texts).size, 3, 'independent samples differ');
      const reasons = (out.generation as Generation).finishReason as string[];
      assert.equal(reasons.length, 3);
    });

    it("greedy decoding gives transformers.js's own greedy text", async () => {
      await load({ do_sample: false, max_new_tokens: 16 });
      const ours = await generate({ prompt: PROMPT });
      const theirs = await withTransformersEnv(
        { allowLocalModels: true, allowRemoteModels: false, useFSCache: false, localModelPath: join(BUNDLED_MODEL_DIR, '..') + '/' },
        async (transformers) => {
          const pipe = await transformers.pipeline('text-generation', 'demo-gpt2', { quantized: true });
          try {
            return (await pipe(PROMPT, { max_new_tokens: 16, do_sample: false, return_full_text: false })) as { generated_text: string }[];
          } finally {
            await (pipe as unknown as { dispose(): Promise<void> }).dispose();
          }
        },
      );
      // The node drops U+FFFD (bytes that decode to no character); otherwise the texts are equal.
      assert.equal(ours.payload, theirs[0].generated_text.replace(/\uFFFD/g, '').trim());
      assert.ok((ours.payload as string).length > 0);
    });

    it('stops before a stop string and does not return it', async () => {
      await load({ max_new_tokens: 24, seed: 11 });
      const full = (await generate({ prompt: PROMPT })).payload as string;
      const words = full.split(/\s+/).filter((w) => w.length > 0);
      assert.ok(words.length >= 4, full);
      const stop = words[3];
      const out = await generate({ prompt: PROMPT, options: { stop: [stop, '@@never@@'] } });
      assert.equal(out.payload, full.slice(0, full.indexOf(stop)).trim());
      assert.equal((out.generation as Generation).finishReason, 'stop');
      // The same, configured in the editor.
      await helper.unload();
      await load({ max_new_tokens: 24, seed: 11, stop: [stop] });
      assert.equal((await generate({ prompt: PROMPT })).payload, out.payload);
    });

    it('returns the prompt too with return_full_text', async () => {
      await load({ max_new_tokens: 10, seed: 3 });
      const plain = (await generate({ prompt: PROMPT })).payload as string;
      const full = (await generate({ prompt: PROMPT, options: { return_full_text: true } })).payload as string;
      assert.ok(full.startsWith(PROMPT.trim()), full);
      assert.ok(full.endsWith(plain), full);
      assert.ok(full.length >= PROMPT.trim().length + plain.length);
    });

    it('cuts a text stopped by max_new_tokens after its last complete sentence, and leaves finished texts alone', async () => {
      await load({ max_new_tokens: 50, num_return_sequences: 16 });
      const sentenceEnd = /[.!?](?=\s)|[。！？]/;
      let cutTexts = 0;
      for (let seed = 1; seed <= 5 && cutTexts === 0; seed++) {
        const plain = await generate({ prompt: PROMPT, options: { seed } });
        const texts = plain.payload as string[];
        const reasons = (plain.generation as Generation).finishReason as string[];
        const cut = (await generate({ prompt: PROMPT, options: { seed, cut_at_sentence_end: true } })).payload as string[];
        texts.forEach((text, i) => {
          const unfinished = reasons[i] === 'length' && sentenceEnd.test(text) && !/[.!?。！？]["'”’)\]」』）]*$/u.test(text);
          if (!unfinished) {
            assert.equal(cut[i], text, `nothing to cut (${reasons[i]})`);
            return;
          }
          cutTexts++;
          assert.ok(cut[i].length < text.length && text.startsWith(cut[i]), `${cut[i]} | ${text}`);
          assert.match(cut[i], /[.!?。！？]["'”’)\]」』）]*$/u);
          assert.doesNotMatch(text.slice(cut[i].length), sentenceEnd, 'no later sentence end');
        });
      }
      assert.ok(cutTexts > 0, 'some text was stopped in the middle of a sentence');
    });

    it('keeps prompt + max_new_tokens within the model positions: truncates the prompt with a warning, or fails', async () => {
      await load({ max_new_tokens: 8 });
      const long = 'Discover our new collection of summer shoes and bags. '.repeat(60); // about 600 tokens
      const out = await generate({ prompt: long });
      const generation = out.generation as Generation;
      assert.equal(generation.promptTokens, 512 - 8);
      assert.equal(generation.promptTruncated, true);
      assert.deepEqual(callsOf('gen', 'warn').map((args) => args[0]), ['generate-text.warnings.promptTruncated']);

      const refused = await generateError({ prompt: long, options: { truncate_prompt: false } });
      assert.equal(refused.code, 'promptTooLong');
      assert.equal(refused.message, 'generate-text.errors.promptTooLong');
      const tooMany = await generateError({ prompt: PROMPT, options: { max_new_tokens: 600 } });
      assert.equal(tooMany.code, 'maxNewTokensTooLarge');
    });

    it("takes Hugging Face's reference call as written: max_length counts the prompt", async () => {
      await load();
      // model.generate(input_ids, max_length=100, do_sample=True, top_k=50, top_p=0.95, num_return_sequences=3)
      const reference = { max_length: 100, do_sample: true, top_k: 50, top_p: 0.95, num_return_sequences: 3 };
      const out = await generate({ prompt: PROMPT, options: { ...reference, seed: 3 } });
      const generation = out.generation as Generation;
      assert.equal((out.payload as string[]).length, 3);
      const room = 100 - generation.promptTokens;
      assert.ok(generation.newTokens <= 3 * room, `${generation.newTokens} new tokens, at most 3 x ${room}`);
      // min_length, also counting the prompt, makes every text reach max_length exactly.
      const exact = await generate({ prompt: PROMPT, options: { ...reference, min_length: 100, seed: 3 } });
      assert.equal((exact.generation as Generation).newTokens, 3 * room);
      assert.deepEqual((exact.generation as Generation).finishReason, ['length', 'length', 'length']);
      assert.deepEqual(callsOf('gen', 'warn'), []);

      // Given beside max_length, max_new_tokens wins, with transformers' warning.
      const both = await generate({ prompt: PROMPT, options: { max_length: 100, max_new_tokens: 4, min_new_tokens: 4 } });
      assert.equal((both.generation as Generation).newTokens, 4);
      assert.deepEqual(callsOf('gen', 'warn'), [['generate-text.warnings.lengthOverridden']]);
    });

    it('bounds the total length in the editor\'s "total length" mode, and a message may switch back to new tokens', async () => {
      await load({ lengthMode: 'total', max_new_tokens: 8, max_length: 30, min_length: 30 });
      const out = await generate({ prompt: PROMPT });
      const generation = out.generation as Generation;
      assert.equal(generation.promptTokens + generation.newTokens, 30);
      const newTokens = await generate({ prompt: PROMPT, options: { max_new_tokens: 5, min_new_tokens: 5 } });
      assert.equal((newTokens.generation as Generation).newTokens, 5);
      const short = await generateError({ prompt: PROMPT.repeat(3) });
      assert.equal(short.code, 'maxLengthNoRoom');
      assert.equal(short.message, 'generate-text.errors.maxLengthNoRoom');
      await helper.unload();

      // The fields of the other mode do not count; an empty total length is an error, not 60 new tokens.
      await load({ max_new_tokens: 6, min_new_tokens: 6, max_length: 30 });
      assert.equal(((await generate({ prompt: PROMPT })).generation as Generation).newTokens, 6);
      await helper.unload();
      await load({ lengthMode: 'total', max_length: '' });
      assert.deepEqual(reportedErrors().map((err) => [err.code, err.params?.option]), [['badInteger', 'max_length']]);
    });

    it('generates a batch: an array of prompts gives an array of texts, each as if sent alone', async () => {
      await load({ max_new_tokens: 6, seed: 9 });
      const prompts = ['New arrivals for spring', '限时优惠', 'Dear customer,'];
      const out = await generate({ payload: prompts });
      const texts = out.payload as string[];
      assert.equal(texts.length, 3);
      assert.equal(((out.generation as Generation).finishReason as string[]).length, 3);
      for (const [i, prompt] of prompts.entries()) {
        assert.equal((await generate({ payload: prompt })).payload, texts[i]);
      }
      const several = await generate({ payload: prompts.slice(0, 2), options: { num_return_sequences: 2 } });
      assert.deepEqual(
        (several.payload as string[][]).map((texts) => texts.length),
        [2, 2],
      );
    });
  });

  describe('queue, timeout and close', () => {
    it('fails messages beyond the queue limit with a clear error and generates the others', async () => {
      await load({ maxQueue: 2, max_new_tokens: 4 });
      const sent = collect<Message>('out');
      const caught = collect<Message>('caught');
      for (let i = 0; i < 4; i++) helper.getNode('gen').receive({ prompt: PROMPT, n: i });
      await waitFor(() => sent.length + caught.length === 4, 'four outcomes');
      assert.deepEqual(
        sent.map((m) => m.n),
        [0, 1],
      );
      assert.deepEqual(
        caught.map((m) => [m.n, (m.error as ReportedError).code]),
        [
          [2, 'queueFull'],
          [3, 'queueFull'],
        ],
      );
      assert.equal(reportedErrors()[0].message, 'generate-text.errors.queueFull');
      assert.equal(reportedErrors().length, 2, 'one error per failed message');
    });

    it('stops a generation that exceeds the timeout, then the model goes on with the next message', async () => {
      // A second node without a timeout shares the model: after the stopped generation it
      // must get its turn (the first node's 50 ms would also stop a short text on a busy machine).
      const next = { id: 'next', z: 'tab', x: 100, y: 160, type: 'marketing-generate-text', llm: 'llm', max_new_tokens: 2, wires: [['out']] };
      await helper.load([llmNode, generateTextNode], [...flow({ timeout: 0.05, max_new_tokens: 500 }), next]);
      const error = await generateError({ prompt: PROMPT, options: { min_new_tokens: 500, do_sample: false } });
      assert.equal(error.code, 'timeout');
      assert.equal(error.message, 'generate-text.errors.timeout');
      assert.ok(statuses().some((s) => s.fill === 'red'));
      const output = nextMessage('out');
      helper.getNode('next').receive({ prompt: PROMPT });
      const out = await output;
      assert.equal(typeof out.payload, 'string');
      const { newTokens } = out.generation as Generation;
      assert.ok(newTokens >= 1 && newTokens <= 2, `${newTokens} new tokens`);
    });

    it('on close, ends the running and queued messages with an error and releases the model', async () => {
      await load({ max_new_tokens: 500, min_new_tokens: 500, do_sample: false }, { source: 'folder', folder: BUNDLED_MODEL_DIR });
      const spec = resolveModelSpec({ source: 'folder', folder: BUNDLED_MODEL_DIR }, userDir);
      await waitFor(() => statuses().some((s) => s.text === 'generate-text.status.ready'), 'the model to load');
      assert.equal(modelRegistry.users(spec), 2, 'the config node and the generate-text node');
      const gen = helper.getNode('gen');
      const sent = collect<Message>('out');
      // The helper's spies are removed by unload, so the errors are recorded on the node itself.
      const errors: ReportedError[] = [];
      const reporter = gen as unknown as { error: (err: unknown, msg?: unknown) => void };
      const report = reporter.error.bind(gen);
      reporter.error = (err, msg) => {
        errors.push(err as ReportedError);
        report(err, msg);
      };
      const warnings: unknown[] = [];
      const warner = gen as unknown as { warn: (text: unknown) => void };
      const warn = warner.warn.bind(gen);
      warner.warn = (text) => {
        warnings.push(text);
        warn(text);
      };
      for (let i = 0; i < 3; i++) gen.receive({ prompt: PROMPT, n: i });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await helper.unload();
      // 500 tokens were asked for each: had close waited for the running generation, it would
      // have been sent, not ended with 'closed'.
      assert.equal(sent.length, 0);
      assert.deepEqual(
        errors.map((e) => e.code),
        ['closed', 'closed', 'closed'],
      );
      // One line says how many the stop ended and why, whatever Catch nodes exist.
      assert.deepEqual(warnings, ['generate-text.warnings.endedByRedeploy']);
      assert.equal(modelRegistry.users(spec), 0, 'released');
    });
  });

  describe('continuous batching', () => {
    /** Generate-text nodes `ids` on one model node, and `alone` on a model node with the same model and batching off. */
    function batchFlow(nodes: Message[], batchRows: unknown = 16): unknown[] {
      return [
        { id: 'tab', type: 'tab', label: 'batching' },
        { id: 'llm', type: 'marketing-llm', source: 'bundled', batchRows },
        { id: 'llm1', type: 'marketing-llm', source: 'bundled', batchRows: 1 },
        ...nodes.map((node, i) => ({ z: 'tab', x: 100, y: 40 + 40 * i, type: 'marketing-generate-text', llm: 'llm', wires: [['out']], ...node })),
        { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
        { id: 'catch', z: 'tab', x: 100, y: 300, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'tab', x: 300, y: 300, type: 'helper', wires: [] },
      ];
    }

    it('decodes the messages of several nodes together; seeded texts stay those of one message at a time', async () => {
      const ids = ['gen', 'gen2', 'gen3'];
      await helper.load(
        [llmNode, generateTextNode],
        batchFlow([...ids.map((id) => ({ id, max_new_tokens: 24 })), { id: 'alone', llm: 'llm1', max_new_tokens: 24 }]),
      );
      const sent = collect<Message>('out');
      const seeded = [{ seed: 7 }, { seed: 8, num_return_sequences: 2 }];
      // The reference: the seeded messages on the model node with batching off, one at a time.
      for (const [i, options] of seeded.entries()) helper.getNode('alone').receive({ prompt: PROMPT, options, reference: i });
      await waitFor(() => sent.length === 2, 'the reference texts');
      // Twelve unseeded messages from three nodes at once, the seeded ones among them.
      for (let i = 0; i < 12; i++) helper.getNode(ids[i % 3]).receive({ prompt: `${PROMPT} ${i}`, n: i, options: { min_new_tokens: 24 } });
      for (const [i, options] of seeded.entries()) helper.getNode(ids[i]).receive({ prompt: PROMPT, options, underLoad: i });
      await waitFor(() => sent.length === 16, 'every text');
      assert.deepEqual(reportedErrors('gen'), []);
      const texts = sent.filter((msg) => msg.n !== undefined);
      assert.equal(texts.length, 12);
      for (const msg of texts) assert.equal((msg.generation as Generation).newTokens, 24);
      for (const i of [0, 1]) {
        const reference = sent.find((msg) => msg.reference === i) as Message;
        const underLoad = sent.find((msg) => msg.underLoad === i) as Message;
        assert.deepEqual(underLoad.payload, reference.payload);
      }
      assert.ok(
        ids.some((id) => statuses(id).some((s) => s.text === 'generate-text.status.generatingBatch')),
        'a status shows the rows in the batch',
      );
    });

    it("stops a message that times out without disturbing the other messages' rows", async () => {
      await helper.load(
        [llmNode, generateTextNode],
        batchFlow([
          { id: 'gen', timeout: 0.05, max_new_tokens: 500, min_new_tokens: 500, do_sample: false },
          { id: 'gen2', max_new_tokens: 40, min_new_tokens: 40 },
        ]),
      );
      const sent = collect<Message>('out');
      for (let i = 0; i < 3; i++) helper.getNode('gen2').receive({ prompt: PROMPT, n: i });
      const error = await generateError({ prompt: PROMPT });
      assert.equal(error.code, 'timeout');
      await waitFor(() => sent.length === 3, 'the other texts');
      assert.deepEqual(
        sent.map((msg) => (msg.generation as Generation).newTokens),
        [40, 40, 40],
      );
    });

    it('fails the model with a clear error when its batch rows are out of range', async () => {
      await helper.load([llmNode, generateTextNode], batchFlow([{ id: 'gen' }], 0));
      await waitFor(() => statuses().some((s) => s.fill === 'red'), 'a red status');
      assert.equal(reportedErrors()[0].code, 'badBatchRows');
      assert.equal(reportedErrors()[0].message, 'generate-text.errors.badBatchRows');
    });
  });

  describe('bad input and broken models', () => {
    it('fails bad options, unknown options and missing prompts with errors that name them', async () => {
      await load();
      const sent = collect<Message>('out');
      const badTopP = await generateError({ prompt: PROMPT, options: { top_p: 2 } });
      assert.equal(badTopP.code, 'badPositiveNumber');
      assert.equal(badTopP.params?.option, 'top_p');
      assert.equal(badTopP.message, 'generate-text.errors.badPositiveNumber');
      assert.equal((await generateError({ prompt: PROMPT, options: { max_tokens: 5 } })).code, 'unknownOption');
      const beams = await generateError({ prompt: PROMPT, options: { num_beams: 4, early_stopping: true } });
      assert.deepEqual([beams.code, beams.message, beams.params], ['beamSearchOption', 'generate-text.errors.beamSearchOption', { option: 'num_beams', value: '4' }]);
      assert.equal((await generateError({ prompt: PROMPT, options: 'fast' })).code, 'badOptions');
      assert.equal((await generateError({ payload: { text: 'hi' } })).code, 'noPrompt');
      assert.equal((await generateError({ prompt: 42 })).code, 'noPrompt');
      assert.equal((await generateError({ prompt: '   ' })).code, 'emptyPrompt');
      assert.equal((await generateError({ prompt: [] })).code, 'noPrompt');
      assert.equal(sent.length, 0);
      assert.equal(reportedErrors().length, 8, 'one error per message');
      assert.ok(statuses().some((s) => s.fill === 'red'));
    });

    it('reports bad settings at deploy and fails every message with them', async () => {
      await load({ max_new_tokens: 'lots' });
      assert.equal(reportedErrors()[0].code, 'badInteger');
      assert.ok(statuses().some((s) => s.fill === 'red'));
      assert.equal((await generateError({ prompt: PROMPT })).code, 'badInteger');
    });

    it('refuses to fall back to the demo model when its model node is missing', async () => {
      await load({ llm: 'deleted' }, null);
      assert.equal(reportedErrors()[0].code, 'llmMissing');
      assert.equal((await generateError({ prompt: PROMPT })).code, 'llmMissing');
    });

    it('reports a missing model folder with a red status, and Node-RED goes on', async () => {
      await load({}, { source: 'folder', folder: 'no/such/model' });
      await waitFor(() => statuses().some((s) => s.fill === 'red'), 'a red status');
      const deployError = reportedErrors()[0];
      assert.equal(deployError.code, 'modelFolderMissing');
      assert.equal(deployError.params?.path, join(userDir, 'no/such/model'));
      assert.equal((await generateError({ prompt: PROMPT })).code, 'modelFolderMissing');
    });

    it('reports a corrupt ONNX file', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'corrupt-model-'));
      try {
        cpSync(BUNDLED_MODEL_DIR, folder, { recursive: true });
        writeFileSync(join(folder, 'onnx', 'decoder_model_merged_quantized.onnx'), Buffer.alloc(4096, 'garbage'));
        await load({}, { source: 'folder', folder, loadAt: 'first' });
        // onnxruntime's complaints (a stack trace, "Using `wasm` as a fallback") go to Node-RED's log, not stderr.
        const stderr: string[] = [];
        const write = process.stderr.write.bind(process.stderr);
        process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
          stderr.push(String(chunk));
          return write(chunk, ...rest);
        }) as typeof process.stderr.write;
        let error: ReportedError;
        try {
          error = await generateError({ prompt: PROMPT });
        } finally {
          process.stderr.write = write;
        }
        assert.doesNotMatch(stderr.join(''), /fallback|protobuf|OnnxruntimeSessionHandler/);
        // Level 30 is Node-RED's warn; the helper's RED._ gives the message key.
        const logged = helper.log().args.map(([event]) => event as { level: number; msg: unknown });
        assert.ok(logged.some((event) => event.level === 30 && event.msg === 'generate-text.warnings.library'), JSON.stringify(logged));
        assert.equal(error.code, 'modelInvalid');
        assert.equal(error.params?.file, 'onnx/decoder_model_merged_quantized.onnx');
        assert.ok(!JSON.stringify(error.params).includes(folder), 'no absolute path in the error');
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    it('names a model file that is not JSON without quoting its content or the folder path', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'not-json-model-'));
      try {
        cpSync(BUNDLED_MODEL_DIR, folder, { recursive: true });
        // Any file the Node-RED user can read could be put in place of the tokenizer.
        writeFileSync(join(folder, 'tokenizer.json'), 'root:x:0:0:root:/root:/bin/bash\n');
        await load({}, { source: 'folder', folder, loadAt: 'first' });
        const error = await generateError({ prompt: PROMPT });
        assert.equal(error.code, 'modelInvalid');
        assert.deepEqual(error.params, { model: basename(folder), file: 'tokenizer.json', reason: 'not valid JSON' });
        const logged = JSON.stringify(helper.log().args);
        for (const text of [JSON.stringify(error.params), logged]) {
          assert.doesNotMatch(text, /root:x|bin\/bash/);
          assert.ok(!text.includes(folder), 'no absolute path');
        }
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    it('says which switch to turn when only the other model file exists', async () => {
      await load({}, { quantized: false, loadAt: 'first' });
      assert.equal((await generateError({ prompt: PROMPT })).code, 'fullPrecisionFileMissing');
    });

    it('refuses to download when downloads are off and the model is not cached', async () => {
      await load({}, { source: 'hub', model: 'Xenova/gpt2', allowDownloads: false, loadAt: 'first' });
      const error = await generateError({ prompt: PROMPT });
      assert.equal(error.code, 'modelNotCached');
      assert.equal(error.params?.cacheDir, join(userDir, 'marketing-automation', 'models'));
    });
  });

  describe('hub models', () => {
    let server: Server;
    let host: string;
    const requests: string[] = [];

    before(async () => {
      // A hub on loopback (a company mirror, as far as the node knows) serving the bundled files.
      server = createServer((req, res) => {
        requests.push(req.url ?? '');
        const match = /^\/acme\/demo-gpt2\/resolve\/main\/(.+)$/.exec(req.url ?? '');
        readFile(join(BUNDLED_MODEL_DIR, match ? match[1] : 'missing')).then(
          (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
          () => res.writeHead(404).end(),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      host = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('downloads a hub model into the cache with progress, then loads it from the cache offline', async () => {
      const cacheDir = mkdtempSync(join(tmpdir(), 'model-cache-'));
      try {
        await load({}, { source: 'hub', model: 'acme/demo-gpt2', remoteHost: host, cacheDir });
        const out = await generate({ prompt: PROMPT, options: { seed: 4 } });
        assert.equal((out.generation as Generation).model, 'acme/demo-gpt2');
        assert.ok(requests.some((url) => url.endsWith('onnx/decoder_model_merged_quantized.onnx')));
        assert.ok(statuses().some((s) => s.text === 'generate-text.status.loading'));
        await helper.unload();

        requests.length = 0;
        await load({}, { source: 'hub', model: 'acme/demo-gpt2', remoteHost: host, cacheDir, allowDownloads: false });
        const offline = await generate({ prompt: PROMPT, options: { seed: 4 } });
        assert.equal(offline.payload, out.payload);
        assert.deepEqual(requests, [], 'nothing fetched');
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });

    it('reports an unknown model and an unreachable hub', async () => {
      await load({}, { source: 'hub', model: 'acme/unknown', remoteHost: host, loadAt: 'first' });
      assert.equal((await generateError({ prompt: PROMPT })).code, 'modelNotFound');
      await helper.unload();
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await load({}, { source: 'hub', model: 'acme/demo-gpt2', remoteHost: `http://127.0.0.1:${port}/`, loadAt: 'first' });
      assert.equal((await generateError({ prompt: PROMPT })).code, 'downloadFailed');
    });
  });

  it('shares one model between nodes with the same settings and releases it with the last one', async () => {
    const folderSpec = { source: 'folder', folder: BUNDLED_MODEL_DIR };
    const spec = resolveModelSpec(folderSpec, userDir);
    await helper.load(
      [llmNode, generateTextNode],
      [
        { id: 'tab', type: 'tab' },
        { id: 'llm', type: 'marketing-llm', ...folderSpec },
        { id: 'llm2', type: 'marketing-llm', ...folderSpec, name: 'same model, other config node' },
        { id: 'a', z: 'tab', x: 10, y: 10, type: 'marketing-generate-text', llm: 'llm', max_new_tokens: 4, wires: [['out']] },
        { id: 'b', z: 'tab', x: 10, y: 50, type: 'marketing-generate-text', llm: 'llm2', max_new_tokens: 4, wires: [['out']] },
        { id: 'out', z: 'tab', x: 200, y: 10, type: 'helper', wires: [] },
      ],
    );
    assert.equal(modelRegistry.users(spec), 4);
    const sent = collect<Message>('out');
    helper.getNode('a').receive({ prompt: PROMPT, from: 'a' });
    helper.getNode('b').receive({ prompt: PROMPT, from: 'b' });
    await waitFor(() => sent.length === 2, 'both texts');
    await helper.unload();
    assert.equal(modelRegistry.users(spec), 0);
  });
});
