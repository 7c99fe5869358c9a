/**
 * Example 01, "Campaign from a contact list", loaded from its JSON file into the real Node-RED
 * runtime and run end to end with the bundled demo model: the emails reach a real SMTP server
 * on loopback (the flow's marketing-smtp node is pointed at it; everything else is as shipped),
 * and the summary line and per-segment counts are checked against the contact list.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import { isOptedOutValue, isValidEmail } from '../../lib/segmentation/contacts';
import { compileSegmentRules, type SegmentDefinition } from '../../lib/segmentation/segment';
import { checkSettingsFromConfig, compileChecks, type CheckConfig } from '../../lib/checks';
import checkNode from '../../nodes/check/check';
import { offerSampleContacts, REVIEW_FOLDER_VARIABLE, SAMPLE_CONTACTS_VARIABLE } from '../../nodes/common';
import generateTextNode from '../../nodes/generate-text/generate-text';
import llmNode from '../../nodes/llm/llm';
import promptNode from '../../nodes/prompt/prompt';
import segmentNode from '../../nodes/segment/segment';
import sendEmailNode from '../../nodes/send-email/send-email';
import smtpNode from '../../nodes/smtp/smtp';
import {
  coreNodes, deliverToSmtpServer, EXAMPLES_DIR, nodeOf, readExample, withHelperNodes, type FlowNode,
} from '../support/examples';
import { collect, helper, startServer, stopServer, waitUntil } from '../support/red';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

const EXAMPLE = '01 - Campaign from a contact list';
const PACKAGE_NODES = [segmentNode, promptNode, llmNode, generateTextNode, checkNode, smtpNode, sendEmailNode];

interface SegmentCounts { name: string; contacts: number; sent: number; duplicate: number; skipped: number; failed: number; review: number }
interface Summary {
  campaign: string;
  destination: string;
  contacts: number;
  segments: SegmentCounts[];
  notTargeted: Record<string, number>;
  sent: number;
  alreadySent: number;
  failed: number;
  checked: number;
  heldForReview: number;
}
type SummaryMessage = NodeMessage & { summary: Summary };

/** The CSV as the core CSV node reads it here: first row names the columns, numbers parsed, empty cells left out. */
function readCsv(text: string): Array<Record<string, string | number>> {
  const [header, ...rows] = text.trim().split('\n');
  const columns = header.split(',');
  return rows.map((row) => {
    const contact: Record<string, string | number> = {};
    row.split(',').forEach((cell, i) => {
      if (cell !== '') contact[columns[i]] = cell.trim() !== '' && !Number.isNaN(Number(cell)) ? Number(cell) : cell;
    });
    return contact;
  });
}

/** What the list should give, from its rows alone: who is opted out, invalid, a duplicate, or mailable. */
function expectedHygiene(contacts: Array<Record<string, string | number>>) {
  const optedOutAddresses = new Set(contacts.filter((c) => isOptedOutValue(c.unsubscribed))
    .map((c) => String(c.email).trim().toLowerCase()));
  const seen = new Set<string>();
  const counts = { optedOut: 0, invalidEmail: 0, duplicate: 0 };
  const mailable: typeof contacts = [];
  for (const contact of contacts) {
    const address = String(contact.email).trim().toLowerCase();
    if (optedOutAddresses.has(address)) counts.optedOut++;
    else if (!isValidEmail(String(contact.email).trim())) counts.invalidEmail++;
    else if (seen.has(address)) counts.duplicate++;
    else mailable.push(contact);
    if (!optedOutAddresses.has(address) && isValidEmail(String(contact.email).trim())) seen.add(address);
  }
  return { counts, mailable };
}

describe('example 01: campaign from a contact list', function () {
  this.timeout(300_000);
  let smtp: TestSmtpServer;
  let userDir: string;
  let flow: FlowNode[];
  const savedSample = process.env[SAMPLE_CONTACTS_VARIABLE];
  const savedReview = process.env[REVIEW_FOLDER_VARIABLE];

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    smtp = await startTestSmtpServer();
    userDir = mkdtempSync(join(tmpdir(), 'marketing-example-01-'));
    process.env[REVIEW_FOLDER_VARIABLE] = join(userDir, 'review');
    helper.settings({ userDir });
    flow = withHelperNodes(deliverToSmtpServer(readExample(EXAMPLE), smtp.port));
  });
  afterEach(async () => {
    await helper.unload();
    await smtp.close();
    rmSync(userDir, { recursive: true, force: true });
    if (savedSample === undefined) delete process.env[SAMPLE_CONTACTS_VARIABLE];
    else process.env[SAMPLE_CONTACTS_VARIABLE] = savedSample;
    if (savedReview === undefined) delete process.env[REVIEW_FOLDER_VARIABLE];
    else process.env[REVIEW_FOLDER_VARIABLE] = savedReview;
  });

  async function runCampaign(injectName: string): Promise<Summary> {
    const summaries = collect(nodeOf(flow, 'helper', 'campaign summary').id) as SummaryMessage[];
    helper.getNode(nodeOf(flow, 'inject', injectName).id).receive({});
    await waitUntil(() => summaries.length === 1, 240_000, `the summary of "${injectName}"`);
    const [message] = summaries;
    assert.match(String(message.payload), new RegExp(`^Campaign contact-list-demo: ${message.summary.contacts} contacts; `));
    // Made in the Function node's sandbox: plain objects of this realm, for deepEqual.
    return JSON.parse(JSON.stringify(message.summary)) as Summary;
  }

  it('ships a sample list that the package points MARKETING_SAMPLE_CONTACTS at, with something in every segment', async () => {
    delete process.env[SAMPLE_CONTACTS_VARIABLE];
    offerSampleContacts();
    const file = process.env[SAMPLE_CONTACTS_VARIABLE] as string;
    assert.equal(file, join(EXAMPLES_DIR, 'sample-contacts.csv'));
    assert.ok(existsSync(file));
    const fileIn = nodeOf(flow, 'file in');
    assert.deepEqual([fileIn.filename, fileIn.filenameType], [SAMPLE_CONTACTS_VARIABLE, 'env']);

    // The list through the example's own csv node, then the example's own segments.
    const csv = { ...nodeOf(flow, 'csv'), wires: [['rows']] };
    await helper.load(coreNodes(), [{ id: 'tab', type: 'tab' }, { ...csv, z: 'tab' }, { id: 'rows', type: 'helper', z: 'tab' }]);
    const parsed = collect('rows');
    helper.getNode(csv.id).receive({ payload: readFileSync(file, 'utf8') });
    await waitUntil(() => parsed.length === 1, 5000, 'the parsed list');
    const contacts = parsed[0].payload as Array<Record<string, unknown>>;
    assert.equal(contacts.length, 238);
    assert.deepEqual(contacts, readCsv(readFileSync(file, 'utf8')), 'the CSV node reads the list as the test does');
    const languages = new Set(contacts.map((contact) => contact.language));
    assert.deepEqual([...languages].sort(), ['en', 'zh']);

    const segment = nodeOf(flow, 'marketing-segment');
    const result = compileSegmentRules({
      segments: segment.segments as SegmentDefinition[],
      rfm: { recency: String(segment.rfmRecency), frequency: String(segment.rfmFrequency), monetary: String(segment.rfmMonetary) },
    }).segment(contacts, {});
    assert.ok(result.segments.every((members) => members.length > 10), 'every segment has contacts');
    assert.deepEqual(
      { optedOut: result.notTargetedCounts.optedOut, invalidEmail: result.notTargetedCounts.invalidEmail, duplicate: result.notTargetedCounts.duplicate },
      expectedHygiene(readCsv(readFileSync(file, 'utf8'))).counts,
    );
    assert.ok(result.notTargetedCounts.optedOut >= 10 && result.notTargetedCounts.duplicate >= 5);
  });

  it('sends a few contacts (JSON), one email each, then the CSV list; a second run sends nothing', async () => {
    // A slice of the shipped list keeps the run short: its first 24 rows, and later rows that repeat their addresses.
    const [header, ...rows] = readFileSync(join(EXAMPLES_DIR, 'sample-contacts.csv'), 'utf8').trim().split('\n');
    const first = rows.slice(0, 24);
    const firstAddresses = new Set(first.map((row) => row.split(',')[0].trim().toLowerCase()));
    const repeats = rows.slice(24).filter((row) => firstAddresses.has(row.split(',')[0].trim().toLowerCase()));
    const slice = join(userDir, 'contacts.csv');
    writeFileSync(slice, [header, ...first, ...repeats, ''].join('\n'));
    process.env[SAMPLE_CONTACTS_VARIABLE] = slice;

    await helper.load([...coreNodes(), ...PACKAGE_NODES], flow);
    const errors = collect(nodeOf(flow, 'helper', 'errors').id);

    // The check node's settings as the flow's environment resolves them, to grade what was sent.
    const tabEnv = new Map((nodeOf(flow, 'tab').env as { name: string; value: string }[]).map((v) => [v.name, v.value]));
    const checkConfig = Object.fromEntries(Object.entries(nodeOf(flow, 'marketing-check')).map(([key, value]) =>
      [key, typeof value === 'string' && /^\$\{\w+\}$/.test(value) ? tabEnv.get(value.slice(2, -1)) : value]));
    // The flow allows the campaign's offer to new customers only (msg.check.allowedOffers); a sent email may hold it, no other.
    const checker = compileChecks({ ...checkSettingsFromConfig(checkConfig as CheckConfig), allowedOffers: [tabEnv.get('OFFER_CODE') ?? '', tabEnv.get('OFFER_VALUE') ?? ''] });
    const reviewFile = join(userDir, 'review', 'contact-list-demo.txt');
    const reviewEntries = () => (existsSync(reviewFile) ? readFileSync(reviewFile, 'utf8').split('\n').filter((line) => / held for review$/.test(line)) : []);
    // The review file is written by a File node beside the path that counts: the summary can come
    // first. Waits (up to 10 s) for `expected` entries, then returns what the file holds.
    const reviewEntriesOnceWritten = async (expected: number) => {
      await waitUntil(() => reviewEntries().length >= expected, 10_000, `${expected} review entries`);
      return reviewEntries();
    };

    // 1. The inline contacts: Tom opted out, Anna twice (case and a space).
    const few = await runCampaign('a few contacts (JSON)');
    assert.equal(few.contacts, 7);
    assert.deepEqual(few.notTargeted, { optedOut: 1, duplicate: 1 });
    assert.deepEqual(few.segments.map((s) => [s.name, s.contacts, s.sent + s.review]), [['new customers', 2, 2], ['loyal', 2, 2], ['at risk', 1, 1]]);
    assert.equal(few.checked, 5);
    assert.equal(few.sent + few.heldForReview, 5, 'every contact in a segment is sent or held for review');
    assert.equal((await reviewEntriesOnceWritten(few.heldForReview)).length, few.heldForReview, 'one review entry per contact held');
    assert.equal(few.destination, `smtp://127.0.0.1:${smtp.port}`);
    await smtp.waitForAccepted(few.sent);
    const mails = await Promise.all(smtp.accepted.map((_, i) => smtp.parse(i)));
    const inline = new Map((JSON.parse(String(nodeOf(flow, 'inject', 'a few contacts (JSON)').payload)) as Array<Record<string, unknown>>)
      .map((contact) => [String(contact.email).trim().toLowerCase(), contact]));
    for (const mail of mails) {
      const address = (mail.to as { value: Array<{ address: string }> }).value[0].address.toLowerCase();
      const contact = inline.get(address) as Record<string, unknown>;
      const [body, footer] = String(mail.text).split('\n--\n');
      assert.equal(mail.subject, contact.language === 'zh' ? `${String(contact.name)}，给您的一封信` : `${String(contact.firstName)}, a note from Example Shop`);
      assert.deepEqual(checker.check(body.trim(), { contact }).failed, [], `a sent email passes the checks: ${body}`);
      assert.ok(body.includes(String(contact.language === 'zh' ? contact.name : contact.firstName)), `greets the contact: ${body}`);
      assert.match(footer, /You get this email because you are a customer of Example Shop\./);
      assert.match(footer, /Unsubscribe: https:\/\/shop\.example\/unsubscribe\?email=.+%40example\.c(om|n)&campaign=contact-list-demo/);
      assert.match(String(mail.headerLines.find((line) => line.key === 'list-unsubscribe')?.line), /<https:\/\/shop\.example\/unsubscribe\?/);
      assert.equal(mail.from?.value[0].address, 'news@shop.example');
      assert.equal(mail.from?.value[0].name, 'Example Shop');
    }
    if (reviewEntries().length > 0) {
      assert.match(readFileSync(reviewFile, 'utf8'), /\n {2}candidate 1: .+\n {4}\S/, 'each candidate with its reasons and text');
    }

    // 2. The CSV list, read by the File-in node from MARKETING_SAMPLE_CONTACTS.
    const contacts = readCsv(readFileSync(slice, 'utf8'));
    const { counts, mailable } = expectedHygiene(contacts);
    const list = await runCampaign('sample contact list (CSV)');
    assert.equal(list.contacts, contacts.length);
    assert.equal(list.notTargeted.optedOut ?? 0, counts.optedOut);
    assert.equal(list.notTargeted.duplicate ?? 0, counts.duplicate);
    assert.equal(list.notTargeted.invalidEmail ?? 0, counts.invalidEmail);
    const targeted = list.segments.reduce((sum, s) => sum + s.contacts, 0);
    assert.equal(targeted + (list.notTargeted.noSegment ?? 0), mailable.length);
    assert.equal(list.checked, targeted);
    assert.equal(list.sent + list.heldForReview, targeted);
    assert.equal(list.failed, 0);
    assert.equal((await reviewEntriesOnceWritten(few.heldForReview + list.heldForReview)).length, few.heldForReview + list.heldForReview);
    await smtp.waitForAccepted(few.sent + list.sent);
    const listAddresses = smtp.accepted.slice(few.sent).flatMap((mail) => mail.to);
    assert.equal(new Set(listAddresses).size, list.sent, 'one email per address');
    const optedOut = new Set(contacts.filter((c) => isOptedOutValue(c.unsubscribed)).map((c) => String(c.email).toLowerCase()));
    assert.deepEqual(listAddresses.filter((address) => optedOut.has(address)), [], 'no opted-out contact is mailed');

    // 3. The same list again: the send ledger has every address sent; the seeded model holds the same contacts again.
    const again = await runCampaign('sample contact list (CSV)');
    assert.equal(again.sent, 0);
    assert.equal(again.alreadySent, list.sent);
    assert.equal(again.heldForReview, list.heldForReview);
    assert.equal(smtp.accepted.length, few.sent + list.sent);
    assert.deepEqual(errors, []);
  });
});
