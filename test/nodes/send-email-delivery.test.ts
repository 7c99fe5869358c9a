import assert from 'node:assert/strict';
import { helper, startServer, stopServer, waitUntil } from '../support/red';
import { assertExactlyOnce, contactMessages, attach, deploySendEmail, removeUserDir, type SendEmailHarness } from '../support/send-email-flow';
import { freePort, selfSignedCertificate, startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

function addressesOf(list: Array<{ contact: { email: string } }>): string[] {
  return list.map((msg) => msg.contact.email);
}

describe('marketing-send-email: delivery', function () {
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

  describe('authentication and TLS', () => {
    for (const method of ['PLAIN', 'LOGIN']) {
      it(`logs in with AUTH ${method} using the credentials from Node-RED's credential store`, async () => {
        server = await startTestSmtpServer({ auth: { user: 'mailer', pass: 's3cret' }, authMethods: [method] });
        harness = await deploySendEmail({}, { port: server.port }, { user: 'mailer', password: 's3cret' });
        await harness.run(contactMessages(2));
        assert.equal(harness.sent.length, 2);
        assert.ok(server.logins.length >= 1 && server.logins.every((used) => used === method), server.logins.join());
      });
    }

    it('fails with a wrong password, once, without retrying', async () => {
      server = await startTestSmtpServer({ auth: { user: 'mailer', pass: 's3cret' } });
      harness = await deploySendEmail({}, { port: server.port }, { user: 'mailer', password: 'wrong' });
      await harness.run(contactMessages(1));
      assert.deepEqual(harness.notSent.map((msg) => [msg.email.status, msg.email.reason, msg.email.attempts]), [['failed', 'authFailed', 1]]);
      assert.equal(harness.caught[0].error?.code, 'authFailed');
      assert.equal(server.authFailures, 1);
      assert.equal(server.accepted.length, 0);
    });

    const tls = selfSignedCertificate();
    for (const [label, serverOptions, security] of [
      ['STARTTLS', { starttls: true, tls }, 'starttls'],
      ['implicit TLS', { secure: true, tls }, 'tls'],
    ] as const) {
      it(`sends over ${label} to a self-signed server when verification is off, and refuses it when on`, async () => {
        server = await startTestSmtpServer(serverOptions);
        harness = await deploySendEmail({}, { port: server.port, security, rejectUnauthorized: false });
        await harness.run(contactMessages(1));
        assert.equal(harness.sent.length, 1);
        assert.equal(server.accepted[0].secure, true, 'the session was encrypted');
        await helper.unload();
        removeUserDir(harness.userDir);

        harness = await deploySendEmail({}, { port: server.port, security, rejectUnauthorized: true });
        await harness.run(contactMessages(1, 'verified'));
        assert.deepEqual(harness.notSent.map((msg) => [msg.email.reason, msg.email.attempts]), [['tlsFailed', 1]]);
        assert.match(String(harness.notSent[0].email.message), /tlsFailed/);
        assert.equal(server.accepted.length, 1, 'nothing more was accepted');
      });
    }

    it('refuses to send in the clear when STARTTLS is required and the server does not offer it', async () => {
      server = await startTestSmtpServer();
      harness = await deploySendEmail({}, { port: server.port, security: 'starttls' });
      await harness.run(contactMessages(1));
      assert.equal(harness.notSent[0].email.status, 'failed');
      assert.equal(server.accepted.length, 0);
    });
  });

  describe('faults: every message received exactly once, or reported on output 2', () => {
    it('server down at deploy, then up: retried until it answers', async () => {
      const port = await freePort();
      // (the server is marked down after the first failures: probed every 0.5 s, not the default 10 s)
      harness = await deploySendEmail({ retries: 10, retryDelay: 0.05 }, { port, probeInterval: 0.5 });
      const list = contactMessages(20);
      harness.feed(list);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(harness.sent.length + harness.notSent.length, 0, 'nothing settled while the server was down');
      server = await startTestSmtpServer({ port });
      const current = harness;
      await waitUntil(() => current.sent.length + current.notSent.length === 20, 20_000, 'all outputs');
      assert.equal(harness.sent.length, 20);
      // only the first few were tried while the server was down; the rest waited their turn
      assert.ok(harness.sent.some((msg) => Number(msg.email.attempts) >= 2));
      assertExactlyOnce(harness, server, addressesOf(list));
    });

    it('421 at connection and 451 at RCPT for the first attempts: deferred, then delivered', async () => {
      server = await startTestSmtpServer({
        behaviour: {
          onConnect: (connection) => (connection <= 2 ? { code: 421, message: 'Too many connections, try later' } : undefined),
          onRcpt: (_to, offer) => (offer === 1 ? { code: 451, message: 'Greylisted, try again later' } : undefined),
        },
      });
      harness = await deploySendEmail({}, { port: server.port });
      const list = contactMessages(15);
      await harness.run(list);
      assert.equal(harness.sent.length, 15);
      assert.ok(harness.sent.every((msg) => Number(msg.email.attempts) >= 2));
      assert.equal(harness.caught.length, 0);
      assertExactlyOnce(harness, server, addressesOf(list));
    });

    it('550 for some recipients: those fail at once with the reply, the others are delivered', async () => {
      const offers = new Map<string, number>();
      server = await startTestSmtpServer({
        behaviour: {
          onRcpt: (to) => {
            offers.set(to, (offers.get(to) ?? 0) + 1);
            return to.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined;
          },
        },
      });
      harness = await deploySendEmail({}, { port: server.port });
      const list = [...contactMessages(6), ...contactMessages(4, 'gone')];
      await harness.run(list);
      assert.equal(harness.sent.length, 6);
      assert.deepEqual(harness.notSent.map((msg) => [msg.email.reason, msg.email.attempts]), Array(4).fill(['rejected', 1]));
      assert.match(String(harness.notSent[0].email.message), /rejected/);
      assert.deepEqual(harness.caught.map((msg) => msg.error?.code), Array(4).fill('rejected'));
      for (let i = 0; i < 4; i++) assert.equal(offers.get(`gone${i}@example.com`), 1, 'not retried');
      assertExactlyOnce(harness, server, addressesOf(list));
    });

    it('connections dropped before the end of the message: retried, delivered once', async () => {
      // (a drop after the final '.' leaves the outcome unknown: see the end-of-DATA tests)
      server = await startTestSmtpServer({ behaviour: { onRcpt: (_to, offer) => (offer === 1 ? 'drop' : undefined) } });
      harness = await deploySendEmail({}, { port: server.port });
      const list = contactMessages(12);
      await harness.run(list);
      assert.equal(harness.sent.length, 12);
      assert.ok(harness.sent.every((msg) => msg.email.attempts === 2));
      assertExactlyOnce(harness, server, addressesOf(list));
    });

    it('a server slower than the timeout: timed out, retried, delivered once', async () => {
      server = await startTestSmtpServer({
        behaviour: {
          onConnect: (connection) => (connection === 1 ? { stallMs: 800 } : undefined),
          onRcpt: (_to, offer) => (offer === 1 ? { stallMs: 800 } : undefined),
        },
      });
      harness = await deploySendEmail({}, { port: server.port, timeout: 0.3 });
      const list = contactMessages(6);
      await harness.run(list);
      assert.equal(harness.sent.length, 6);
      assert.ok(harness.sent.every((msg) => Number(msg.email.attempts) >= 2));
      assertExactlyOnce(harness, server, addressesOf(list));
    });

    it('gives up on a server that keeps deferring after the configured retries', async () => {
      server = await startTestSmtpServer({ behaviour: { onRcpt: (to) => (to.startsWith('busy') ? { code: 452, message: 'Mailbox full' } : undefined) } });
      harness = await deploySendEmail({ retries: 2 }, { port: server.port });
      const list = [...contactMessages(2, 'busy'), ...contactMessages(2)];
      await harness.run(list);
      assert.deepEqual(harness.notSent.map((msg) => [msg.email.reason, msg.email.attempts]), [['retriesExhausted', 3], ['retriesExhausted', 3]]);
      assert.equal(harness.caught.length, 2);
      assertExactlyOnce(harness, server, addressesOf(list));
    });
  });

  it('a campaign of 1,000 interrupted by a redeploy half-way, then sent again: each address received exactly once', async () => {
    server = await startTestSmtpServer();
    const list = contactMessages(1000);
    const first = await deploySendEmail({}, { port: server.port, maxConnections: 3 });
    harness = first;
    first.feed(list);
    const active = server;
    await waitUntil(() => active.accepted.length >= 500, 20_000, 'half of the campaign');
    await helper.setFlows(first.flow, 'full');
    const acceptedAtRedeploy = server.accepted.length;
    assert.ok(acceptedAtRedeploy < 1000, `the redeploy interrupted the campaign (${acceptedAtRedeploy} sent)`);

    const second = attach(first.flow, first.userDir);
    await second.run(list, 25_000);
    assert.equal(second.sent.length + second.notSent.length, 1000);
    assert.equal(second.notSent.filter((msg) => msg.email.status === 'failed').length, 0);
    assert.equal(second.notSent.length, acceptedAtRedeploy, 'what went out before the redeploy is a duplicate now');
    assert.ok(second.notSent.every((msg) => msg.email.reason === 'alreadySent'));
    for (const address of addressesOf(list)) assert.equal(server.receivedCount(address), 1, address);
    assert.equal(server.accepted.length, 1000);
  });
});
