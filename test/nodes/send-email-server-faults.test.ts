import assert from 'node:assert/strict';
import { helper, startServer, stopServer, waitUntil } from '../support/red';
import { assertExactlyOnce, contactMessages, deploySendEmail, removeUserDir, type SendEmailHarness } from '../support/send-email-flow';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

describe('marketing-send-email: a slow reply to the end of DATA, a server that never comes up', function () {
  this.timeout(30_000);
  let server: TestSmtpServer | undefined;
  let harness: SendEmailHarness | undefined;

  before(startServer);
  after(stopServer);
  afterEach(async () => {
    await helper.unload();
    await server?.close();
    if (harness) removeUserDir(harness.userDir);
    server = harness = undefined;
  });

  describe('the reply to the final "."', () => {
    it('is waited for longer than the rest of the dialogue: a reply slower than the timeout still counts, once', async () => {
      server = await startTestSmtpServer({ behaviour: { onData: (_to, _offer, stage) => (stage === 'end' ? { stallMs: 700 } : undefined) } });
      harness = await deploySendEmail({}, { port: server.port, timeout: 0.3, dataTimeout: 5 });
      const list = contactMessages(4);
      await harness.run(list);
      assert.deepEqual(harness.sent.map((msg) => msg.email.attempts), [1, 1, 1, 1]);
      assertExactlyOnce(harness, server, list.map((msg) => msg.contact.email));
    });

    it('without a reply in time: reported as unknownOutcome, not resent, and skipped as interrupted when fed again', async () => {
      // The server stores the message and answers long after the client stopped waiting.
      server = await startTestSmtpServer({
        behaviour: { onData: (to, _offer, stage) => (stage === 'end' && to[0].startsWith('slow') ? { stallMs: 1500 } : undefined) },
      });
      harness = await deploySendEmail({}, { port: server.port, timeout: 0.3, dataTimeout: 0.5 });
      const list = [...contactMessages(6), ...contactMessages(2, 'slow')];
      await harness.run(list);
      assert.equal(harness.sent.length, 6);
      assert.deepEqual(harness.notSent.map((msg) => [msg.email.status, msg.email.reason, msg.email.attempts]), Array(2).fill(['failed', 'unknownOutcome', 1]));
      assert.ok(harness.notSent.every((msg) => /^<.+>$/.test(String(msg.email.messageId))), 'the Message-ID to look it up by');
      assert.match(String(harness.notSent[0].email.message), /unknownOutcome/);
      assert.deepEqual(harness.caught.map((msg) => msg.error?.code), ['unknownOutcome', 'unknownOutcome']);
      const current = server;
      await current.waitForAccepted(8);
      for (const { contact } of list) assert.equal(current.receivedCount(contact.email), 1, contact.email);

      const before = { sent: harness.sent.length, notSent: harness.notSent.length };
      await harness.run(list);
      const again = harness.notSent.slice(before.notSent);
      assert.equal(harness.sent.length, before.sent, 'nothing sent the second time');
      assert.deepEqual(again.filter((msg) => msg.email.reason === 'interrupted').map((msg) => msg.email.to), ['slow0@example.com', 'slow1@example.com']);
      assert.equal(again.filter((msg) => msg.email.reason === 'alreadySent').length, 6);
      assert.equal(server.accepted.length, 8);
    });

    it('with "resend": sent again, with the same Message-ID', async () => {
      server = await startTestSmtpServer({ behaviour: { onData: (_to, offer, stage) => (stage === 'end' && offer === 1 ? { stallMs: 1500 } : undefined) } });
      harness = await deploySendEmail({ afterInterruption: 'resend' }, { port: server.port, timeout: 0.3, dataTimeout: 0.5 });
      await harness.run(contactMessages(2));
      assert.deepEqual(harness.sent.map((msg) => msg.email.attempts), [2, 2]);
      const current = server;
      await current.waitForAccepted(4);
      const ids = await Promise.all(current.accepted.map((_, i) => current.parse(i).then((mail) => [mail.to && 'text' in mail.to ? mail.to.text : '', mail.messageId])));
      for (const address of ['user0@example.com', 'user1@example.com']) {
        const copies = ids.filter(([to]) => to === address).map(([, id]) => id);
        assert.equal(copies.length, 2, `${address}: the late first copy and the resent one`);
        assert.equal(copies[0], copies[1]);
      }
    });
  });

  describe('the circuit breaker', () => {
    it('holds messages while the server is down, says so, probes it one message at a time, and fails them together at the end of the window', async () => {
      // Accepts connections and never sends its greeting.
      server = await startTestSmtpServer({ behaviour: { onConnect: () => ({ stallMs: 8000 }) } });
      harness = await deploySendEmail({ retries: 10, retryWindow: 2.5, retryDelay: 0.02 }, { port: server.port, timeout: 0.2, probeInterval: 0.5, maxConnections: 3 });
      const statuses: Array<{ fill?: string; text?: string }> = [];
      // the test helper re-emits each node.status() call as 'call:status'
      const sender = helper.getNode('send') as unknown as { on(event: string, listener: (call: { args: Array<{ fill?: string; text?: string }> }) => void): void };
      sender.on('call:status', (call) => statuses.push(call.args[0]));
      const list = contactMessages(40);
      await harness.run(list, 15_000);
      assert.deepEqual([...new Set(harness.notSent.map((msg) => `${msg.email.status} ${msg.email.reason}`))], ['failed serverDown']);
      assert.equal(harness.notSent.length, 40);
      assert.match(String(harness.notSent[0].email.message), /serverDown/);
      // One wave of connections marks it down (5 failures), then one probe per interval;
      // without the breaker: 3 connections every 0.2 s, about 37.
      assert.ok(server.connectionCount <= 9 + 2.5 / 0.5, `${server.connectionCount} connections`);
      const down = statuses.find((status) => status.fill === 'yellow' && /send-email\.status\.serverDown/.test(String(status.text)));
      assert.ok(down, `a "server down" status: ${JSON.stringify(statuses)}`);
      assert.equal(server.accepted.length, 0);
    });

    it('lets everything waiting go when a probe gets through, once', async () => {
      let up = false;
      server = await startTestSmtpServer({ behaviour: { onConnect: () => (up ? undefined : { stallMs: 8000 }) } });
      harness = await deploySendEmail({ retries: 10, retryWindow: 20, retryDelay: 0.02 }, { port: server.port, timeout: 0.2, probeInterval: 0.5, maxConnections: 3 });
      const list = contactMessages(30);
      harness.feed(list);
      const current = harness;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // without the breaker: 3 connections every 0.2 s, about 45
      const connectionsWhileDown = server.connectionCount;
      assert.ok(connectionsWhileDown <= 9 + 3 / 0.5, `${connectionsWhileDown} connections while down`);
      assert.equal(current.sent.length + current.notSent.length, 0, 'nothing given up while the window lasts');
      up = true;
      await waitUntil(() => current.sent.length === 30, 15_000, 'every message sent after the server came up');
      assertExactlyOnce(harness, server, list.map((msg) => msg.contact.email));
    });
  });
});
