import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '../support/red';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

interface Output {
  output: 1 | 2;
  email: { status: string; reason?: string; to: string; attempts?: number };
}

/** Node-RED in a child process, with the campaign flow; SIGKILL is a real crash. */
function startNodeRed(
  userDir: string,
  port: number,
  afterInterruption: 'skip' | 'resend',
  smtp: Record<string, unknown> = {},
): Promise<{ child: ChildProcess; outputs: Output[] }> {
  const flow = [
    { id: 'tab', type: 'tab', label: 'campaign' },
    { id: 'smtp-config', type: 'marketing-smtp', name: '', transport: 'smtp', host: '127.0.0.1', port, security: 'none', maxConnections: 5, timeout: 5, ...smtp },
    {
      id: 'sender', type: 'marketing-send-email', z: 'tab', x: 100, y: 40, name: '', smtp: 'smtp-config', campaign: 'spring',
      from: 'news@shop.example', subject: 'Spring', text: '{{payload}}', ledger: true, afterInterruption,
      retries: 3, retryWindow: 30, retryDelay: 0.01, wires: [['out1'], ['out2']],
    },
    { id: 'out1', type: 'junction', z: 'tab', x: 300, y: 20, wires: [] },
    { id: 'out2', type: 'junction', z: 'tab', x: 300, y: 60, wires: [] },
  ];
  const child = fork(join(__dirname, '..', 'support', 'send-email-child.js'), [userDir, JSON.stringify(flow)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const outputs: Output[] = [];
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Node-RED exited with ${code}`)));
    child.on('message', (message: Output | { ready: true }) => {
      if ('ready' in message) resolve({ child, outputs });
      else outputs.push(message);
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('marketing-send-email: crash of Node-RED mid-campaign (SIGKILL), then the same list again', function () {
  this.timeout(60_000);
  let server: TestSmtpServer;
  let userDir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    server = await startTestSmtpServer();
    userDir = mkdtempSync(join(tmpdir(), 'marketing-crash-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await kill(child);
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  const list = Array.from({ length: 500 }, (_, i) => ({ contact: { email: `crash${i}@example.com` }, payload: `Hello ${i}` }));
  let interrupted: string[] = [];

  it('sends nothing twice, and reports the few sends the crash left undecided instead of guessing', async () => {
    const first = await startNodeRed(userDir, server.port, 'skip');
    children.push(first.child);
    first.child.send({ feed: list });
    await waitUntil(() => server.accepted.length >= 150, 30_000, '150 messages before the crash');
    await kill(first.child);
    const acceptedAtCrash = server.accepted.length;
    assert.ok(acceptedAtCrash < list.length, 'the crash interrupted the campaign');

    const second = await startNodeRed(userDir, server.port, 'skip');
    children.push(second.child);
    second.child.send({ feed: list });
    await waitUntil(() => second.outputs.length === list.length, 30_000, 'every message of the second run');
    await kill(second.child);

    for (const { contact } of list) assert.ok(server.receivedCount(contact.email) <= 1, `${contact.email} received twice`);
    const byStatus = (status: string, reason?: string) => second.outputs.filter((o) => o.email.status === status && (!reason || o.email.reason === reason));
    interrupted = byStatus('duplicate', 'interrupted').map((o) => o.email.to);
    assert.equal(byStatus('failed').length, 0);
    assert.equal(byStatus('sent').length + byStatus('duplicate').length, list.length);
    console.log(`      (${acceptedAtCrash} accepted before the crash, ${interrupted.length} undecided)`);
    // at most one message per connection on the wire plus one waiting per connection (5 x 2)
    assert.ok(interrupted.length <= 10, `${interrupted.length} undecided sends`);
    for (const output of byStatus('sent')) assert.equal(server.receivedCount(output.email.to), 1);
    for (const output of byStatus('duplicate', 'alreadySent')) assert.equal(server.receivedCount(output.email.to), 1);
    // every address not received is one the second run reported as interrupted: nothing silently lost
    const missing = list.map(({ contact }) => contact.email).filter((email) => server.receivedCount(email) === 0);
    assert.deepEqual(missing.filter((email) => !interrupted.includes(email)), []);
  });

  it('resends exactly the undecided ones when told to (at least once)', async () => {
    const before = new Map(list.map(({ contact }) => [contact.email, server.receivedCount(contact.email)]));
    const third = await startNodeRed(userDir, server.port, 'resend');
    children.push(third.child);
    third.child.send({ feed: list });
    await waitUntil(() => third.outputs.length === list.length, 30_000, 'every message of the third run');
    await kill(third.child);
    const sent = third.outputs.filter((o) => o.email.status === 'sent').map((o) => o.email.to).sort();
    assert.deepEqual(sent, [...interrupted].sort());
    for (const { contact } of list) {
      const expected = (before.get(contact.email) ?? 0) + (interrupted.includes(contact.email) ? 1 : 0);
      assert.equal(server.receivedCount(contact.email), expected, contact.email);
      assert.ok(server.receivedCount(contact.email) >= 1, `${contact.email} never received`);
    }
  });
});

describe('marketing-send-email: no reply to the end of DATA, then Node-RED killed and started again', function () {
  this.timeout(60_000);
  let server: TestSmtpServer;
  let userDir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    // The first copy of each message is stored, and answered long after the client gave up.
    server = await startTestSmtpServer({ behaviour: { onData: (_to, offer, stage) => (stage === 'end' && offer === 1 ? { stallMs: 1500 } : undefined) } });
    userDir = mkdtempSync(join(tmpdir(), 'marketing-unknown-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await kill(child);
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  const list = Array.from({ length: 5 }, (_, i) => ({ contact: { email: `late${i}@example.com` }, payload: `Hello ${i}` }));

  it('a later run skips them as interrupted by default, and resends them only when told to', async () => {
    const first = await startNodeRed(userDir, server.port, 'skip', { timeout: 0.3, dataTimeout: 0.5 });
    children.push(first.child);
    first.child.send({ feed: list });
    await waitUntil(() => first.outputs.length === list.length, 30_000, 'every message of the first run');
    assert.deepEqual(first.outputs.map((o) => [o.output, o.email.status, o.email.reason, o.email.attempts]), Array(5).fill([2, 'failed', 'unknownOutcome', 1]));
    await server.waitForAccepted(5);
    await kill(first.child);

    const second = await startNodeRed(userDir, server.port, 'skip', { timeout: 0.3, dataTimeout: 0.5 });
    children.push(second.child);
    second.child.send({ feed: list });
    await waitUntil(() => second.outputs.length === list.length, 30_000, 'every message of the second run');
    await kill(second.child);
    assert.deepEqual(second.outputs.map((o) => [o.email.status, o.email.reason]), Array(5).fill(['duplicate', 'interrupted']));
    for (const { contact } of list) assert.equal(server.receivedCount(contact.email), 1, contact.email);

    const third = await startNodeRed(userDir, server.port, 'resend', { timeout: 0.3, dataTimeout: 0.5 });
    children.push(third.child);
    third.child.send({ feed: list });
    await waitUntil(() => third.outputs.length === list.length, 30_000, 'every message of the third run');
    await kill(third.child);
    assert.deepEqual(third.outputs.map((o) => o.email.status), Array(5).fill('sent'));
    for (const { contact } of list) assert.equal(server.receivedCount(contact.email), 2, contact.email);
  });
});
