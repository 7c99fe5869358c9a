import assert from 'node:assert/strict';
import sendEmailNode from '../../nodes/send-email/send-email';
import smtpNode from '../../nodes/smtp/smtp';
import { collect, helper, startServer, stopServer, waitUntil, type TestFlow } from '../support/red';
import { makeUserDir, removeUserDir, SEND_DEFAULTS, SMTP_DEFAULTS, type EmailResult } from '../support/send-email-flow';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

function twoSendersFlow(smtp: Record<string, unknown>): TestFlow {
  return [
    { id: 'tab', type: 'tab', label: 'campaign' },
    { id: 'smtp-server', type: 'marketing-smtp', name: '', ...SMTP_DEFAULTS, ...smtp },
    { id: 'send-a', type: 'marketing-send-email', z: 'tab', x: 100, y: 20, name: '', ...SEND_DEFAULTS, campaign: 'a', smtp: 'smtp-server', wires: [['sent'], ['notSent']] },
    { id: 'send-b', type: 'marketing-send-email', z: 'tab', x: 100, y: 60, name: '', ...SEND_DEFAULTS, campaign: 'b', smtp: 'smtp-server', wires: [['sent'], ['notSent']] },
    { id: 'sent', type: 'helper', z: 'tab', x: 300, y: 20 },
    { id: 'notSent', type: 'helper', z: 'tab', x: 300, y: 60 },
  ];
}

function logged(type: string): string[] {
  return helper.log().args
    .map(([event]) => event as { type?: string; msg?: unknown })
    .filter((event) => event.type === type)
    .map((event) => String(event.msg));
}

describe('marketing-smtp', function () {
  let server: TestSmtpServer;
  let userDir: string;

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    server = await startTestSmtpServer();
    userDir = makeUserDir();
  });
  afterEach(async () => {
    await helper.unload();
    await server.close();
    removeUserDir(userDir);
  });

  it('keeps the user, the password and the unsubscribe secrets in Node-RED credentials, not in the flow', async () => {
    await helper.load([smtpNode], [{ id: 'smtp-server', type: 'marketing-smtp', ...SMTP_DEFAULTS, port: server.port }]);
    assert.deepEqual(helper._redNodes.getCredentialDefinition('marketing-smtp'), {
      user: { type: 'text' },
      password: { type: 'password' },
      unsubscribeSecret: { type: 'password' },
      previousUnsubscribeSecret: { type: 'password' },
    });
  });

  it('refuses an unsubscribe secret under 16 characters at deploy, and fails the messages of its send-email nodes', async () => {
    const flow = twoSendersFlow({ port: server.port });
    await helper.load([sendEmailNode, smtpNode], flow, { 'smtp-server': { unsubscribeSecret: 'too short' } });
    const notSent = collect('notSent') as EmailResult[];
    assert.ok(logged('marketing-smtp').includes('smtp.errors.secretTooShort'), 'reported at deploy');
    helper.getNode('send-a')?.receive({ contact: { email: 'ann@example.com' } } as never);
    await waitUntil(() => notSent.length === 1, 5000, 'the message on output 2');
    assert.equal(notSent[0].email.status, 'failed');
    assert.equal(notSent[0].email.reason, 'secretTooShort');
    assert.equal(server.accepted.length, 0);
  });

  it('shares one connection pool between the send-email nodes that use it', async () => {
    const flow = twoSendersFlow({ port: server.port, maxConnections: 1 });
    await helper.load([sendEmailNode, smtpNode], flow);
    const sent = collect('sent') as EmailResult[];
    for (let i = 0; i < 5; i++) {
      helper.getNode('send-a')?.receive({ contact: { email: `a${i}@example.com` } } as never);
      helper.getNode('send-b')?.receive({ contact: { email: `b${i}@example.com` } } as never);
    }
    await waitUntil(() => sent.length === 10, 10_000, '10 sent');
    assert.equal(server.connectionCount, 1, 'one connection, reused by both nodes');
    assert.deepEqual(new Set(sent.map((msg) => msg.email.campaign)), new Set(['a', 'b']));
  });

  it('closes its connections on redeploy, and the new deployment opens its own', async () => {
    const flow = twoSendersFlow({ port: server.port, maxConnections: 2 });
    await helper.load([sendEmailNode, smtpNode], flow);
    let sent = collect('sent') as EmailResult[];
    helper.getNode('send-a')?.receive({ contact: { email: 'first@example.com' } } as never);
    await waitUntil(() => sent.length === 1, 10_000, 'first message');
    assert.ok(server.openConnections() >= 1, 'the pool keeps its connection open between messages');

    await helper.setFlows(flow, 'full');
    await waitUntil(() => server.openConnections() === 0, 5000, 'connections closed');
    sent = collect('sent') as EmailResult[];
    helper.getNode('send-b')?.receive({ contact: { email: 'second@example.com' } } as never);
    await waitUntil(() => sent.length === 1, 10_000, 'second message');
    assert.equal(server.connectionCount, 2);
  });

  it('warns about a port that does not match the security mode', async () => {
    await helper.load([smtpNode], [
      { id: 'tls-587', type: 'marketing-smtp', ...SMTP_DEFAULTS, port: 587, security: 'tls' },
      { id: 'plain-465', type: 'marketing-smtp', ...SMTP_DEFAULTS, port: 465, security: 'starttls' },
    ]);
    const warnings = logged('marketing-smtp');
    assert.ok(warnings.includes('smtp.warnings.implicitTlsOn587'), warnings.join());
    assert.ok(warnings.includes('smtp.warnings.plainOn465'), warnings.join());
  });

  it('warns that a password would travel unencrypted, except to a loopback host where it crosses no network', async () => {
    const plain = { ...SMTP_DEFAULTS, security: 'none', port: server.port };
    const hosts: Record<string, string> = { 'plain-remote': 'mail.example.com', 'plain-v4': '127.0.0.1', 'plain-v6': '::1', 'plain-name': 'localhost' };
    const flow = Object.entries(hosts).map(([id, host]) => ({ id, type: 'marketing-smtp', ...plain, host }));
    const credentials = Object.fromEntries(Object.keys(hosts).map((id) => [id, { user: 'ann', password: 'secret' }]));
    await helper.load([smtpNode], flow, credentials);
    const warned = helper.log().args
      .map(([event]) => event as { id?: string; type?: string; msg?: unknown })
      .filter((event) => event.type === 'marketing-smtp' && event.msg === 'smtp.warnings.credentialsInClear')
      .map((event) => event.id);
    assert.deepEqual(warned, ['plain-remote']);
  });

  it('reports a configuration that cannot work on every message, without crashing', async () => {
    const flow = twoSendersFlow({ host: ' ', port: server.port });
    flow.push({ id: 'catch-all', type: 'catch', z: 'tab', x: 100, y: 100, scope: null, wires: [['caught']] }, { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 100 });
    await helper.load([sendEmailNode, smtpNode], flow);
    const notSent = collect('notSent') as EmailResult[];
    const caught = collect('caught') as EmailResult[];
    helper.getNode('send-a')?.receive({ contact: { email: 'a@example.com' } } as never);
    await waitUntil(() => notSent.length === 1 && caught.length === 1, 5000, 'failure');
    assert.equal(notSent[0].email.reason, 'noHost');
    assert.equal(caught[0].error?.code, 'noHost');
    assert.ok(logged('marketing-smtp').includes('smtp.errors.noHost'));
  });
});
