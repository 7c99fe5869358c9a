/**
 * `npm run bench:email-faults`: marketing-send-email in an embedded Node-RED against a real
 * SMTP server (`smtp-server`, test/support/smtp-server.ts) that misbehaves on purpose, for
 * the two figures of the delivery guarantee:
 *
 * 1. slow end of DATA: the server stores each message and answers the final `.` late for one
 *    recipient in 20 (`--reply-delay` s, default 5) while marketing-smtp's timeout is shorter
 *    (`--timeout` s, default 3). Run once with the default wait for that reply (10 minutes)
 *    and once with a wait shorter than the reply (`dataTimeout` 1 s less than the delay).
 *    Prints messages the server accepted, duplicates, and the outputs by status and reason.
 * 2. server down: the server accepts connections and never greets. Prints how long it took
 *    until every message was reported, against the campaign's retry window
 *    (`--window` s, default 30), the reasons, and how many connections were opened.
 *
 * Each scenario runs in a fresh process (Node-RED starts once per process); the SMTP server
 * runs in that process too: these are counts and times of a few seconds, not throughput.
 *
 * Usage: node dist/bench/email-faults.js [--size 2000] [--reply-delay 5] [--timeout 3] [--window 30] [--only slow,down]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedNodeRed } from '../test/support/embedded-node-red';
import { startTestSmtpServer, type Behaviour } from '../test/support/smtp-server';

interface Scenario {
  name: 'slow-end-default' | 'slow-end-short' | 'down';
  size: number;
  replyDelayS: number;
  timeoutS: number;
  windowS: number;
}

interface Result {
  seconds: number;
  accepted: number;
  distinct: number;
  connections: number;
  outcomes: Record<string, number>;
  attempts: Record<string, number>;
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

async function runScenario(scenario: Scenario): Promise<Result> {
  const slowReply: Behaviour = {
    onData: (to, _offer, stage) => (stage === 'end' && Number(/(\d+)@/.exec(to[0])?.[1]) % 20 === 0 ? { stallMs: scenario.replyDelayS * 1000 } : undefined),
  };
  const neverGreets: Behaviour = { onConnect: () => ({ stallMs: (scenario.windowS + 60) * 1000 }) };
  const server = await startTestSmtpServer({ behaviour: scenario.name === 'down' ? neverGreets : slowReply });
  const smtp: Record<string, unknown> = {
    id: 'smtp-config', type: 'marketing-smtp', name: '', transport: 'smtp', host: '127.0.0.1', port: server.port,
    security: 'none', rejectUnauthorized: true, maxConnections: 20, rateLimit: 0, timeout: scenario.timeoutS,
  };
  if (scenario.name === 'slow-end-short') smtp.dataTimeout = scenario.replyDelayS - 1;
  if (scenario.name === 'down') smtp.maxConnections = 5;
  const flow = [
    { id: 'bench', type: 'tab', label: 'bench' },
    smtp,
    {
      id: 'sender', type: 'marketing-send-email', z: 'bench', x: 100, y: 40, name: '', smtp: 'smtp-config', campaign: scenario.name,
      from: 'news@shop.example', subject: 'Spring', text: '{{payload}}', ledger: true, afterInterruption: 'skip',
      retries: 4, retryWindow: scenario.windowS, retryDelay: 1, wires: [['out1'], ['out2']],
    },
    // onSend hooks see only messages that go somewhere
    { id: 'out1', type: 'junction', z: 'bench', x: 300, y: 20, wires: [] },
    { id: 'out2', type: 'junction', z: 'bench', x: 300, y: 60, wires: [] },
  ];
  const userDir = mkdtempSync(join(tmpdir(), 'bench-email-faults-'));
  const RED = await startEmbeddedNodeRed(userDir, flow, 'sender', 'off');
  const outcomes: Record<string, number> = {};
  const attempts: Record<string, number> = {};
  let settled = 0;
  let finished: () => void = () => undefined;
  const allSettled = new Promise<void>((resolveAll) => (finished = resolveAll));
  RED.hooks.add('onSend.bench', (events: Array<{ source: { id: string }; msg: { email?: { status: string; reason?: string; attempts?: number } } }>) => {
    for (const { source, msg } of events) {
      if (source.id !== 'sender' || !msg.email) continue;
      const key = `${msg.email.status}${msg.email.reason ? ` ${msg.email.reason}` : ''}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      const tries = String(msg.email.attempts ?? 0);
      attempts[tries] = (attempts[tries] ?? 0) + 1;
      if (++settled === scenario.size) finished();
    }
  });
  const sender = RED.nodes.getNode('sender');
  const started = Date.now();
  for (let i = 0; i < scenario.size; i++) sender?.receive({ contact: { email: `r${i}@bench.example` }, payload: `Hello ${i}` });
  await allSettled;
  const seconds = (Date.now() - started) / 1000;
  // Late replies: the server stores a message when it answers, after the client stopped waiting.
  if (scenario.name !== 'down') await new Promise((resolveWait) => setTimeout(resolveWait, scenario.replyDelayS * 1000 + 500));
  const distinct = new Set(server.accepted.flatMap((mail) => mail.to)).size;
  const result = { seconds, accepted: server.accepted.length, distinct, connections: server.connectionCount, outcomes, attempts };
  await server.close();
  await RED.stop();
  rmSync(userDir, { recursive: true, force: true });
  return result;
}

const LABELS: Record<Scenario['name'], string> = {
  'slow-end-default': 'slow reply to the final ".", default wait for it (600 s)',
  'slow-end-short': 'slow reply to the final ".", wait shorter than the reply',
  down: 'server that accepts connections and never greets',
};

async function main(): Promise<void> {
  const size = Number(option('size', '2000'));
  const replyDelayS = Number(option('reply-delay', '5'));
  const timeoutS = Number(option('timeout', '3'));
  const windowS = Number(option('window', '30'));
  const only = option('only', 'slow,down').split(',');
  const names: Array<Scenario['name']> = [];
  if (only.includes('slow')) names.push('slow-end-default', 'slow-end-short');
  if (only.includes('down')) names.push('down');
  console.log(`Node.js ${process.version}; ${size} recipients; marketing-smtp timeout ${timeoutS} s; `
    + `late reply ${replyDelayS} s for 1 recipient in 20; retry window ${windowS} s`);
  for (const name of names) {
    const scenario: Scenario = { name, size, replyDelayS, timeoutS, windowS };
    const child = fork(__filename, ['scenario', JSON.stringify(scenario)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise<Result>((resolveResult, rejectResult) => {
      child.once('message', (message: Result) => resolveResult(message));
      child.once('exit', (code) => rejectResult(new Error(`scenario ${name} exited with ${code}`)));
    });
    console.log(`\n${LABELS[name]}:`);
    console.log(`  every message reported after ${result.seconds.toFixed(1)} s; server accepted ${result.accepted} messages for `
      + `${result.distinct} recipients (${result.accepted - result.distinct} duplicates); ${result.connections} connections opened`);
    console.log(`  outputs: ${Object.entries(result.outcomes).map(([key, count]) => `${key}: ${count}`).join(', ')}`);
    console.log(`  attempts: ${Object.entries(result.attempts).map(([key, count]) => `${key}: ${count}`).join(', ')}`);
  }
}

if (process.argv[2] === 'scenario') {
  void runScenario(JSON.parse(process.argv[3]) as Scenario).then((result) => {
    process.send?.(result);
    process.exit(0);
  }, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  void main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
