/**
 * Example 03, "Subject line A/B", loaded from its JSON file into the real Node-RED runtime
 * and run end to end with the bundled demo model into the file outbox (as shipped): three
 * seeded candidates per segment, half of each segment's contacts get A, the other half B.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import generateTextNode from '../../nodes/generate-text/generate-text';
import llmNode from '../../nodes/llm/llm';
import promptNode from '../../nodes/prompt/prompt';
import segmentNode from '../../nodes/segment/segment';
import sendEmailNode from '../../nodes/send-email/send-email';
import smtpNode from '../../nodes/smtp/smtp';
import { coreNodes, nodeOf, readExample, withHelperNodes } from '../support/examples';
import { collect, helper, startServer, stopServer, waitUntil } from '../support/red';

interface Candidates { segment: string; candidates: string[]; A: string; B: string; seed: number }

describe('example 03: subject line A/B', function () {
  this.timeout(120_000);
  let userDir: string;

  before(startServer);
  after(stopServer);
  beforeEach(() => {
    userDir = mkdtempSync(join(tmpdir(), 'marketing-example-03-'));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(userDir, { recursive: true, force: true });
  });

  it('writes three seeded candidates per segment and sends A to one half, B to the other, once', async () => {
    const flow = withHelperNodes(readExample('03 - Subject line A-B'));
    await helper.load([...coreNodes(), segmentNode, promptNode, llmNode, generateTextNode, smtpNode, sendEmailNode], flow);
    const candidates = collect(nodeOf(flow, 'helper', 'candidates').id);
    const sent = collect(nodeOf(flow, 'helper', 'sent').id);
    const notSent = collect(nodeOf(flow, 'helper', 'not sent').id);
    const errors = collect(nodeOf(flow, 'helper', 'errors').id);
    const inject = nodeOf(flow, 'inject', 'contacts');
    const contacts = JSON.parse(String(inject.payload)) as Array<{ email: string; orders: number }>;
    const generate = nodeOf(flow, 'marketing-generate-text');
    assert.equal(generate.num_return_sequences, 3);
    // model.generate(input_ids, max_length=100, do_sample=True, top_k=50, top_p=0.95, num_return_sequences=3), as written.
    const [setOptions] = nodeOf(flow, 'change', 'generate() options').rules as Array<{ p: string; to: string; tot: string }>;
    assert.deepEqual([setOptions.p, setOptions.tot], ['options', 'json']);
    assert.deepEqual(JSON.parse(setOptions.to), { max_length: 100, do_sample: true, top_k: 50, top_p: 0.95, num_return_sequences: 3 });
    const generated = collect(nodeOf(flow, 'function', 'split A/B').id);

    helper.getNode(inject.id).receive({});
    await waitUntil(() => sent.length === contacts.length && candidates.length === 2, 60_000, 'every contact sent');
    assert.deepEqual(errors, []);
    // max_length counts each segment's prompt: its texts had 100 - prompt tokens at most.
    assert.equal(generated.length, 2);
    for (const msg of generated) {
      const { promptTokens, newTokens } = msg.generation as { promptTokens: number; newTokens: number };
      assert.deepEqual(msg.options, JSON.parse(setOptions.to));
      assert.ok(newTokens <= 3 * (100 - promptTokens), `${newTokens} new tokens after a prompt of ${promptTokens}`);
    }
    const bySegment = new Map(candidates.map((msg) => [(msg.payload as Candidates).segment, msg.payload as Candidates]));
    assert.deepEqual([...bySegment.keys()].sort(), ['new customers', 'regulars']);
    for (const { candidates: texts, A, B, seed } of bySegment.values()) {
      assert.equal(texts.length, 3);
      for (const text of texts) {
        assert.ok(text.length > 3, `a subject line: ${JSON.stringify(text)}`);
        assert.doesNotMatch(text, /\n|^\d+\./, 'one line, without its number');
      }
      assert.equal(A, texts[0]);
      assert.equal(B, texts.slice(1).find((text) => text !== A) ?? texts[1]);
      if (new Set(texts).size > 1) assert.notEqual(A, B);
      assert.equal(seed, generate.seed);
    }

    const outbox = join(userDir, 'outbox');
    const mails: ParsedMail[] = await Promise.all(readdirSync(outbox).map((file) => simpleParser(readFileSync(join(outbox, file)))));
    assert.equal(mails.length, contacts.length);
    const subjectOf = new Map(mails.map((mail) => [(mail.to as { value: Array<{ address: string }> }).value[0].address, mail.subject]));
    for (const [segment, isMember] of [['new customers', (orders: number) => orders < 2], ['regulars', (orders: number) => orders >= 2]] as const) {
      const { A, B } = bySegment.get(segment) as Candidates;
      const subjects = contacts.filter((contact) => isMember(contact.orders)).map((contact) => subjectOf.get(contact.email));
      const a = subjects.filter((subject) => subject === A).length;
      const b = subjects.filter((subject) => subject === B).length;
      assert.equal(a + b, subjects.length, `${segment}: every subject is A or B`);
      assert.ok(Math.abs(a - b) <= 1, `${segment}: half A (${a}), half B (${b})`);
    }
    for (const mail of mails) assert.match(String(mail.text), /\(variant [AB]\)/);

    // Again: the same seed gives the same candidates, and the ledger sends nothing twice.
    helper.getNode(inject.id).receive({});
    await waitUntil(() => notSent.length === contacts.length && candidates.length === 4, 60_000, 'the second run');
    for (const msg of candidates.slice(2)) {
      const again = msg.payload as Candidates;
      assert.deepEqual(again.candidates, bySegment.get(again.segment)?.candidates);
    }
    assert.ok(notSent.every((msg) => (msg as unknown as { email: { status: string } }).email.status === 'duplicate'));
    assert.equal(readdirSync(outbox).length, contacts.length);
  });
});
