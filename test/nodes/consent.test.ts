/**
 * Everyone honours the suppression list: marketing-suppress, marketing-segment and
 * marketing-send-email deployed together in the real runtime, sending to a real SMTP server
 * on loopback. Suppressed contacts leave the segment node on "not targeted" with reason
 * `suppressed`; the send node never mails a suppressed address, even when the flow bypasses
 * the segment node or the unsubscribe comes while the message waits in the queue (1,000
 * contacts of which 100 unsubscribe mid-campaign). Frequency caps across campaigns too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import segmentNode from '../../nodes/segment/segment';
import sendEmailNode from '../../nodes/send-email/send-email';
import smtpNode from '../../nodes/smtp/smtp';
import suppressNode from '../../nodes/suppress/suppress';
import { DEFAULT_SUPPRESSION_FILE, SuppressionList } from '../../lib/consent/suppression';
import { DEFAULT_LEDGER_FILE, SendLedger } from '../../lib/email/ledger';
import { collect, helper, startServer, stopServer, waitUntil, type TestFlow } from '../support/red';
import { makeUserDir, removeUserDir, SEND_DEFAULTS, SMTP_DEFAULTS, type EmailResult } from '../support/send-email-flow';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

type Msg = Record<string, unknown> & { payload?: unknown; segment?: { name: string; reason?: string }; email?: EmailResult['email'] };

function consentFlow(send: Record<string, unknown>, smtp: Record<string, unknown>, segment: Record<string, unknown> = {}): TestFlow {
  return [
    { id: 'tab', type: 'tab', label: 'campaign' },
    { id: 'smtp-server', type: 'marketing-smtp', name: '', ...SMTP_DEFAULTS, ...smtp },
    { id: 'suppress', type: 'marketing-suppress', z: 'tab', x: 100, y: 20, smtp: '', wires: [['recorded']] },
    { id: 'recorded', type: 'helper', z: 'tab', x: 300, y: 20 },
    {
      id: 'segment', type: 'marketing-segment', z: 'tab', x: 100, y: 80, segments: [{ name: 'everyone', join: 'all', rules: [] }],
      outputMode: 'each', notTargetedOutput: true, outputs: 2, ...segment, wires: [['targeted', 'send'], ['notTargeted']],
    },
    { id: 'targeted', type: 'helper', z: 'tab', x: 300, y: 60 },
    { id: 'notTargeted', type: 'helper', z: 'tab', x: 300, y: 100 },
    { id: 'send', type: 'marketing-send-email', z: 'tab', x: 500, y: 80, name: '', ...SEND_DEFAULTS, smtp: 'smtp-server', ...send, wires: [['sent'], ['notSent']] },
    { id: 'sent', type: 'helper', z: 'tab', x: 700, y: 60 },
    { id: 'notSent', type: 'helper', z: 'tab', x: 700, y: 100 },
  ];
}

describe('the suppression list, honoured by the segment and send-email nodes', function () {
  let server: TestSmtpServer;
  let userDir: string;

  before(startServer);
  after(stopServer);
  afterEach(async () => {
    await helper.unload();
    await server?.close();
    removeUserDir(userDir);
  });

  async function deploy(send: Record<string, unknown> = {}, smtp: Record<string, unknown> = {}) {
    userDir = makeUserDir();
    await helper.load([suppressNode, segmentNode, sendEmailNode, smtpNode], consentFlow(send, { port: server.port, ...smtp }));
    return {
      recorded: collect('recorded') as unknown as Msg[],
      targeted: collect('targeted') as unknown as Msg[],
      notTargeted: collect('notTargeted') as unknown as Msg[],
      sent: collect('sent') as unknown as Msg[],
      notSent: collect('notSent') as unknown as Msg[],
    };
  }

  async function suppress(outputs: { recorded: Msg[] }, events: Array<Record<string, unknown>>): Promise<void> {
    const before = outputs.recorded.length;
    for (const payload of events) helper.getNode('suppress').receive({ payload } as never);
    await waitUntil(() => outputs.recorded.length === before + events.length, 5000, 'suppressions recorded');
  }

  it('keeps suppressed contacts out of every segment, reason suppressed, every record of the address', async () => {
    server = await startTestSmtpServer();
    const out = await deploy();
    await suppress(out, [
      { email: 'bob@example.com', reason: 'unsubscribe', campaign: 'winter' },
      { email: 'cy@example.com', reason: 'hardBounce' },
      { email: 'di@example.com', reason: 'complaint' },
    ]);
    helper.getNode('segment').receive({ payload: [
      { id: 1, email: 'ann@example.com' },
      { id: 2, email: 'Bob@Example.com' },
      { id: 3, email: 'cy@example.com' },
      { id: 4, email: ' BOB@example.com ' },
      { id: 5, email: 'di@example.com', unsubscribed: true },
      { id: 6, email: 'eve@example.com' },
    ] } as never);
    await waitUntil(() => out.targeted.length === 2 && out.notTargeted.length === 4 && out.sent.length === 2, 10_000, 'segmented and sent');
    assert.deepEqual(out.targeted.map((msg) => (msg.payload as { id: number }).id), [1, 6]);
    assert.deepEqual(out.notTargeted.map((msg) => [(msg.payload as { id: number }).id, msg.segment?.reason]),
      [[2, 'suppressed'], [3, 'suppressed'], [4, 'suppressed'], [5, 'optedOut']]);
    assert.deepEqual(server.accepted.map((mail) => mail.to[0]).sort(), ['ann@example.com', 'eve@example.com']);
  });

  it('never mails a suppressed address fed straight to the send node, with the ledger on or off', async () => {
    for (const ledger of [true, false]) {
      server = await startTestSmtpServer();
      const out = await deploy({ ledger });
      await suppress(out, [{ email: 'Bob@Example.com', reason: 'manual' }]);
      for (const email of ['ann@example.com', 'bob@example.com', ' BOB@EXAMPLE.COM', 'cy@example.com']) {
        helper.getNode('send').receive({ contact: { email }, payload: 'Hello' } as never);
      }
      helper.getNode('send').receive({ to: 'bob@example.com', payload: 'no contact, msg.to' } as never);
      await waitUntil(() => out.sent.length + out.notSent.length === 5, 10_000, 'five outcomes');
      assert.equal(out.sent.length, 2, `ledger ${ledger}`);
      assert.deepEqual(out.notSent.map((msg) => [msg.email?.status, msg.email?.reason, msg.email?.to]), [
        ['skipped', 'suppressed', 'bob@example.com'], ['skipped', 'suppressed', 'bob@example.com'], ['skipped', 'suppressed', 'bob@example.com'],
      ]);
      assert.equal(server.receivedCount('bob@example.com'), 0);
      await helper.unload();
      await server.close();
      removeUserDir(userDir);
    }
    server = await startTestSmtpServer(); // for afterEach
    userDir = makeUserDir();
  });

  it('stops a queued message whose address is suppressed while the campaign runs: 1,000 contacts, 100 unsubscribe', async () => {
    // Each message takes a little while at the server, so that most of the list waits in the queue.
    server = await startTestSmtpServer({ behaviour: { onData: (_to, _offer, stage) => (stage === 'end' ? { stallMs: 4 } : undefined) } });
    const out = await deploy({}, { maxConnections: 2 });
    const contacts = Array.from({ length: 1000 }, (_, i) => ({ email: `c${String(i).padStart(4, '0')}@example.com` }));
    helper.getNode('segment').receive({ payload: contacts } as never);
    await server.waitForAccepted(30);
    // The last 100 of the list unsubscribe while they wait in the send node's queue.
    const leaving = contacts.slice(900).map((contact) => contact.email);
    assert.ok(leaving.every((email) => server.receivedCount(email) === 0), 'still queued');
    await suppress(out, leaving.map((email) => ({ email, reason: 'unsubscribe', campaign: 'spring' })));
    await waitUntil(() => out.sent.length + out.notSent.length === 1000, 60_000, '1,000 outcomes');
    assert.equal(out.sent.length, 900);
    assert.deepEqual(new Set(out.notSent.map((msg) => `${msg.email?.status} ${msg.email?.reason}`)), new Set(['skipped suppressed']));
    assert.deepEqual(out.notSent.map((msg) => msg.email?.to).sort(), leaving);
    for (const email of leaving) assert.equal(server.receivedCount(email), 0, email);

    // The list keeps them across a restart.
    await helper.unload();
    const list = await SuppressionList.open(join(userDir, DEFAULT_SUPPRESSION_FILE));
    assert.equal(list.size, 100);
    assert.deepEqual(list.summarise(), { unsubscribe: 100, hardBounce: 0, softBounce: 0, complaint: 0, manual: 0 });
    await list.close();
  });

  describe('frequency cap', () => {
    const DAY = 24 * 60 * 60 * 1000;

    it('skips an address that got as many emails as the cap within the window, across campaigns', async () => {
      server = await startTestSmtpServer();
      userDir = makeUserDir();
      // Earlier campaigns: cy got one 3 days ago and one 8 days ago (outside the window of 7).
      const ledger = await SendLedger.open(join(userDir, DEFAULT_LEDGER_FILE));
      await ledger.append({ campaign: 'march', to: 'cy@example.com', state: 'sent', at: new Date(Date.now() - 3 * DAY).toISOString() });
      await ledger.append({ campaign: 'february', to: 'cy@example.com', state: 'sent', at: new Date(Date.now() - 8 * DAY).toISOString() });
      await ledger.append({ campaign: 'march', to: 'di@example.com', state: 'failed', at: new Date().toISOString() });
      await ledger.close();
      await helper.load([suppressNode, segmentNode, sendEmailNode, smtpNode], consentFlow({ capCount: 2, capDays: 7 }, { port: server.port }));
      const sent = collect('sent') as unknown as Msg[];
      const notSent = collect('notSent') as unknown as Msg[];
      const run = async (campaign: string, emails: string[]) => {
        const before = sent.length + notSent.length;
        for (const email of emails) helper.getNode('send').receive({ contact: { email }, campaign, payload: 'Hi' } as never);
        await waitUntil(() => sent.length + notSent.length === before + emails.length, 10_000, `campaign ${campaign}`);
      };
      await run('april', ['ann@example.com', 'cy@example.com', 'di@example.com']);
      await run('may', ['ann@example.com', 'cy@example.com', 'di@example.com']);
      await run('june', ['ann@example.com', 'cy@example.com', 'di@example.com', 'eve@example.com']);
      const outcome = (msg: Msg) => `${msg.email?.campaign} ${msg.email?.to} ${msg.email?.status}${msg.email?.reason ? ` ${msg.email.reason}` : ''}`;
      assert.deepEqual([...sent, ...notSent].map(outcome).sort(), [
        'april ann@example.com sent', 'april cy@example.com sent', 'april di@example.com sent',
        'june ann@example.com skipped frequencyCap', 'june cy@example.com skipped frequencyCap', 'june di@example.com skipped frequencyCap', 'june eve@example.com sent',
        'may ann@example.com sent', 'may cy@example.com skipped frequencyCap', 'may di@example.com sent',
      ]);
      assert.equal(server.receivedCount('cy@example.com'), 1);
      // A campaign's own earlier email is a duplicate, not a capped one.
      await run('april', ['ann@example.com']);
      assert.equal(notSent.at(-1)?.email?.status, 'duplicate');
    });

    it('keeps capped contacts out of the segments, reason frequencyCap, before any copy is written', async () => {
      server = await startTestSmtpServer();
      userDir = makeUserDir();
      const ledger = await SendLedger.open(join(userDir, DEFAULT_LEDGER_FILE));
      await ledger.append({ campaign: 'march', to: 'ann@example.com', state: 'sent', at: new Date(Date.now() - 2 * DAY).toISOString() });
      await ledger.append({ campaign: 'april', to: 'ann@example.com', state: 'sent', at: new Date(Date.now() - 1 * DAY).toISOString() });
      await ledger.append({ campaign: 'april', to: 'bob@example.com', state: 'sent', at: new Date(Date.now() - 1 * DAY).toISOString() });
      await ledger.close();
      await helper.load([suppressNode, segmentNode, sendEmailNode, smtpNode], consentFlow({}, { port: server.port }, { capCount: 2, capDays: 7 }));
      const targeted = collect('targeted') as unknown as Msg[];
      const notTargeted = collect('notTargeted') as unknown as Msg[];
      helper.getNode('segment').receive({ payload: [{ id: 1, email: 'Ann@example.com' }, { id: 2, email: 'bob@example.com' }, { id: 3, email: 'ann@example.com' }] } as never);
      await waitUntil(() => targeted.length + notTargeted.length === 3, 5000, 'three contacts');
      assert.deepEqual(targeted.map((msg) => (msg.payload as { id: number }).id), [2]);
      assert.deepEqual(notTargeted.map((msg) => [(msg.payload as { id: number }).id, msg.segment?.reason]), [[1, 'frequencyCap'], [3, 'frequencyCap']]);
    });

    it('refuses a cap without the ledger, and a cap that is not a whole number, at deploy', async () => {
      server = await startTestSmtpServer();
      for (const [settings, code] of [[{ capCount: 2, ledger: false }, 'capNeedsLedger'], [{ capCount: 1.5 }, 'badFrequencyCap'], [{ capCount: 2, capDays: 0 }, 'badFrequencyCap']] as const) {
        userDir = makeUserDir();
        await helper.load([suppressNode, segmentNode, sendEmailNode, smtpNode], consentFlow(settings, { port: server.port }));
        const notSent = collect('notSent') as unknown as Msg[];
        helper.getNode('send').receive({ contact: { email: 'ann@example.com' } } as never);
        await waitUntil(() => notSent.length === 1, 5000, 'the failure');
        assert.equal(notSent[0].email?.reason, code);
        await helper.unload();
        removeUserDir(userDir);
      }
      userDir = makeUserDir();
      assert.equal(server.accepted.length, 0);
    });
  });
});
