/**
 * The file outbox after a real crash: Node-RED (a child process) is killed with SIGKILL while
 * it writes large messages into the outbox, which can leave `.eml.tmp` files (empty, or
 * written but never renamed). The next start must remove them and say so, so that the folder
 * only ever holds complete messages.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { waitUntil } from '../support/red';

interface ChildMessage {
  ready?: true;
  output?: 1 | 2;
  email?: { status: string; reason?: string; to: string };
  report?: { outboxLeftovers?: { empty: number; unrenamed: number } };
}

interface Child {
  child: ChildProcess;
  outputs: ChildMessage[];
  reports: ChildMessage['report'][];
}

/** Node-RED in a child process: a send-email node writing to its own outbox. */
function startNodeRed(userDir: string): Promise<Child> {
  const flow = [
    { id: 'tab', type: 'tab', label: 'campaign' },
    {
      id: 'sender', type: 'marketing-send-email', z: 'tab', x: 100, y: 40, name: '', smtp: '', campaign: 'spring',
      from: 'news@shop.example', subject: 'Spring {{contact.n}}', text: '{{payload}}', ledger: true, maxSize: 4096, wires: [['out1'], ['out2']],
    },
    { id: 'out1', type: 'junction', z: 'tab', x: 300, y: 20, wires: [] },
    { id: 'out2', type: 'junction', z: 'tab', x: 300, y: 60, wires: [] },
  ];
  const child = fork(join(__dirname, '..', 'support', 'send-email-child.js'), [userDir, JSON.stringify(flow)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const outputs: ChildMessage[] = [];
  const reports: ChildMessage['report'][] = [];
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Node-RED exited with ${code}`)));
    child.on('message', (message: ChildMessage) => {
      if (message.ready) resolve({ child, outputs, reports });
      else if (message.report) reports.push(message.report);
      else outputs.push(message);
    });
  });
}

/** Waits (busily: it takes microseconds) until Linux shows the process as stopped. */
function waitForStopped(pid: number): void {
  const stat = `/proc/${pid}/stat`;
  // The state is the field after the command name, which is in parentheses.
  while (!/\) T /.test(readFileSync(stat, 'utf8'))) { /* the signal is being delivered */ }
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('marketing-send-email: Node-RED killed (SIGKILL) while writing to the outbox', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  let userDir: string;

  before(() => {
    userDir = mkdtempSync(join(tmpdir(), 'marketing-outbox-crash-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await kill(child);
    rmSync(userDir, { recursive: true, force: true });
  });

  it('removes the unfinished files at the next start, reports them, and keeps only complete messages', async () => {
    const folder = join(userDir, 'outbox');
    mkdirSync(folder);
    const temporary = () => readdirSync(folder).filter((name) => name.endsWith('.eml.tmp'));
    // When the outbox reports activity on a temporary file (created or being written), after a
    // few messages were written whole, the process is stopped (SIGSTOP); if a temporary file is
    // still there once it has stopped, no rename can follow, and SIGKILL leaves it behind.
    // Otherwise (the write finished first) it goes on and the next temporary file is tried, so
    // the test does not depend on how fast the machine is.
    const payload = 'Spring offers. '.repeat(70_000);
    let left: string[] = [];
    for (let run = 0; run < 5 && left.length === 0; run++) {
      const writer = await startNodeRed(userDir);
      children.push(writer.child);
      const pid = writer.child.pid as number;
      const written = readdirSync(folder).filter((name) => name.endsWith('.eml')).length;
      let settled = false;
      const killed = new Promise<void>((resolve) => {
        const watcher = watch(folder, (_event, name) => {
          if (settled || !String(name).endsWith('.eml.tmp')) return;
          if (readdirSync(folder).filter((entry) => entry.endsWith('.eml')).length < written + 2) return;
          process.kill(pid, 'SIGSTOP');
          waitForStopped(pid);
          if (temporary().length === 0) {
            process.kill(pid, 'SIGCONT');
            return;
          }
          settled = true;
          watcher.close();
          void kill(writer.child).then(resolve);
        });
        // All messages written before a temporary file was caught stopped: try again.
        writer.child.on('message', () => {
          if (!settled && writer.outputs.length === 60) {
            settled = true;
            watcher.close();
            void kill(writer.child).then(resolve);
          }
        });
      });
      for (let batch = 0; batch < 6; batch++) {
        writer.child.send({ feed: Array.from({ length: 10 }, (_, i) => ({ contact: { email: `run${run}-${batch}-${i}@example.com`, n: i }, payload })) });
      }
      await killed;
      left = temporary();
    }
    assert.ok(left.length > 0, 'a kill landed while a message was being written');
    const sizes = left.map((name) => statSync(join(folder, name)).size);
    const expected = { empty: sizes.filter((size) => size === 0).length, unrenamed: sizes.filter((size) => size > 0).length };
    console.log(`      (the kill left ${expected.empty} empty and ${expected.unrenamed} unrenamed .eml.tmp files)`);

    const next = await startNodeRed(userDir);
    children.push(next.child);
    await waitUntil(() => temporary().length === 0, 10_000, 'leftovers removed');
    // A message written after the start: the outbox has finished with the leftovers by then.
    next.child.send({ feed: [{ contact: { email: 'after@example.com', n: 0 }, payload }] });
    await waitUntil(() => next.outputs.length === 1, 20_000, 'a message after the start');
    assert.equal(next.outputs[0].email?.status, 'sent');
    next.child.send({ feed: [{ topic: 'report' }] });
    await waitUntil(() => next.reports.length === 1, 10_000, 'the report');
    assert.deepEqual(next.reports[0]?.outboxLeftovers, expected, JSON.stringify(next.reports[0]));
    await kill(next.child);

    // What remains is only complete messages, each with its whole body.
    for (const name of readdirSync(folder)) {
      assert.match(name, /\.eml$/);
      const parsed = await simpleParser(readFileSync(join(folder, name)));
      assert.equal(parsed.text?.trim(), payload.trim(), `${name} is complete`);
    }
  });
});
