/**
 * `npm run bench:email`: bursts of messages through marketing-send-email (with and without
 * its send ledger), side by side with node-red-node-email's `e-mail` node and with bare
 * pooled nodemailer (5 connections, the practical ceiling), all to one real SMTP server
 * (`smtp-server`) on loopback. Prints messages/s, messages lost, duplicates, peak RSS, the
 * ratio to bare nodemailer and the ledger overhead.
 *
 * Fairness:
 * - The SMTP server runs in its own process for the whole benchmark. In the sender's process
 *   it would take event-loop time from the sender, more from a fast sender than a slow one;
 *   on its own it gets the second core, the same for every contender.
 * - Each contender runs in a fresh process of its own, so its peak RSS is its own and no
 *   warm-up or garbage carries over. The Node-RED contenders run the real runtime (embedded,
 *   `RED.init` + `RED.start`, no editor) with the flow a user would deploy; their RSS
 *   includes Node-RED itself (its baseline is printed too).
 * - Every message has its own recipient (`<run>-<i>@bench.example`); the server counts what
 *   it accepted per recipient, so "lost" = sent but never accepted and "duplicates" =
 *   accepted more than once, whatever the sender believes.
 * - Time runs from the first message handed over to the last one finished: for
 *   marketing-send-email, the last `done()` (every message acknowledged, its ledger record
 *   on disk); for nodemailer, the last sendMail promise; node-red-node-email has no
 *   completion signal for failures, so its time ends at the server's last acceptance (once
 *   nothing more arrived for 10 s, or for 60 s before the first one, it is over).
 *
 * node-red-node-email is not a dependency of the project (its published bundle fails
 * `npm ci`'s consistency check: its utf7 wants semver ~5.3.0 and it bundles 5.7.2): the first
 * run installs the pinned version into bench/.contenders/ and links it into the user dir.
 *
 * Usage: node dist/bench/email.js [--sizes 2000,10000] [--rounds 1] [--only name,name]
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { PACKAGE_ROOT, startEmbeddedNodeRed, type EmbeddedNodeRed } from '../test/support/embedded-node-red';

/** The compared core-style email node, installed on demand (see above). */
const NODE_EMAIL_VERSION = '5.2.5';
const CONTENDERS_DIR = join(PACKAGE_ROOT, 'bench', '.contenders');
const NODE_EMAIL_DIR = join(CONTENDERS_DIR, 'node_modules', 'node-red-node-email');

function installNodeEmail(): void {
  if (existsSync(join(NODE_EMAIL_DIR, 'package.json'))) return;
  console.log(`installing node-red-node-email@${NODE_EMAIL_VERSION} into bench/.contenders/ (once)`);
  mkdirSync(CONTENDERS_DIR, { recursive: true });
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', CONTENDERS_DIR,
    `node-red-node-email@${NODE_EMAIL_VERSION}`], { stdio: 'inherit' });
}

const CONTENDERS = ['nodemailer', 'marketing', 'marketing-noledger', 'node-red-node-email'] as const;
type Contender = (typeof CONTENDERS)[number];

const LABELS: Record<Contender, string> = {
  nodemailer: 'bare nodemailer, pool of 5',
  marketing: 'marketing-send-email (ledger on)',
  'marketing-noledger': 'marketing-send-email (ledger off)',
  'node-red-node-email': 'node-red-node-email (e-mail node)',
};

interface RunRequest {
  contender: Contender | 'node-red-idle';
  size: number;
  port: number;
  runId: string;
}

interface RunResult {
  startedAt: number;
  finishedAt: number;
  settled: number;
  failed: number;
  peakRssMb: number;
  /** CPU time (user + system) the sender process spent on the burst, in ms. */
  cpuMs: number;
}

interface SinkStats {
  accepted: number;
  distinct: number;
  lastAcceptedAt: number;
}

const SUBJECT = 'Spring offers for you, {{contact.firstName}}';
const BODY = 'Hello! Our spring collection is here: linen shirts, light jackets and sandals, with 20% off '
  + 'for our newsletter readers until Sunday. Reply to this email if you have any question.';

// ---------------------------------------------------------------- SMTP server process

function runSink(): void {
  const counts = new Map<string, number>();
  let accepted = 0;
  let lastAcceptedAt = 0;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        for (const address of session.envelope.rcptTo) counts.set(address.address, (counts.get(address.address) ?? 0) + 1);
        accepted++;
        lastAcceptedAt = Date.now();
        callback(null, 'queued');
      });
    },
  });
  server.on('error', () => undefined); // a client dropping its connection is not the sink's problem
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.server.address() as { port: number };
    process.send?.({ port });
  });
  process.on('message', (command: string) => {
    if (command === 'reset') {
      counts.clear();
      accepted = 0;
      lastAcceptedAt = 0;
      process.send?.({ reset: true });
    } else if (command === 'stats') {
      process.send?.({ stats: { accepted, distinct: counts.size, lastAcceptedAt } satisfies SinkStats });
    } else if (command === 'stop') {
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 500).unref();
    }
  });
}

// ---------------------------------------------------------------- contender process

function recipients(request: RunRequest): string[] {
  return Array.from({ length: request.size }, (_, i) => `${request.runId}-${i}@bench.example`);
}

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** CPU time since `start` (from process.cpuUsage()), in ms: unlike wall time, barely moved by other load on the machine. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / 1000);
}

async function runBareNodemailer(request: RunRequest): Promise<RunResult> {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: 5, host: '127.0.0.1', port: request.port, ignoreTLS: true });
  const startedAt = Date.now();
  const cpu = process.cpuUsage();
  let failed = 0;
  await Promise.all(recipients(request).map((to, i) => transport.sendMail({
    from: 'news@shop.example',
    to,
    subject: SUBJECT.replace('{{contact.firstName}}', `N${i}`),
    text: BODY,
  }).catch(() => failed++)));
  const finishedAt = Date.now();
  const cpuMs = cpuMsSince(cpu);
  transport.close();
  return { startedAt, finishedAt, settled: request.size, failed, peakRssMb: peakRssMb(), cpuMs };
}

/** Node-RED embedded as in a real installation, in a fresh user dir. */
async function startNodeRed(flow: Array<Record<string, unknown>>): Promise<{ RED: EmbeddedNodeRed; userDir: string }> {
  const userDir = mkdtempSync(join(tmpdir(), 'bench-email-'));
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(NODE_EMAIL_DIR, join(userDir, 'node_modules', 'node-red-node-email'), 'dir');
  return { RED: await startEmbeddedNodeRed(userDir, flow, 'sender'), userDir };
}

function flowFor(request: RunRequest): Array<Record<string, unknown>> {
  const tab = { id: 'bench', type: 'tab', label: 'bench' };
  if (request.contender === 'node-red-node-email' || request.contender === 'node-red-idle') {
    return [tab, {
      id: 'sender', type: 'e-mail', z: 'bench', x: 100, y: 40, name: '', server: '127.0.0.1', port: String(request.port),
      secure: false, tls: false, authtype: 'NONE', wires: [],
    }];
  }
  return [tab, {
    id: 'smtp-config', type: 'marketing-smtp', name: '', transport: 'smtp', host: '127.0.0.1', port: request.port,
    security: 'none', rejectUnauthorized: true, maxConnections: 5, rateLimit: 0, timeout: 30,
  }, {
    id: 'sender', type: 'marketing-send-email', z: 'bench', x: 100, y: 40, name: '', smtp: 'smtp-config', campaign: request.runId,
    from: 'news@shop.example', fromName: '', replyTo: '', recipientField: 'email', nameField: 'name',
    subject: SUBJECT, text: '{{payload}}', html: '', unsubscribeUrl: '', optOutField: 'unsubscribed',
    ledger: request.contender === 'marketing', afterInterruption: 'skip', retries: 4, retryWindow: 600, retryDelay: 1,
    maxSize: 2048, wires: [[], []],
  }];
}

async function runNodeRed(request: RunRequest): Promise<RunResult> {
  const { RED, userDir } = await startNodeRed(flowFor(request));
  try {
    if (request.contender === 'node-red-idle') {
      return { startedAt: 0, finishedAt: 0, settled: 0, failed: 0, peakRssMb: peakRssMb(), cpuMs: 0 };
    }
    let settled = 0;
    let failed = 0;
    let finished: () => void = () => undefined;
    const allSettled = new Promise<void>((resolveAll) => (finished = resolveAll));
    RED.hooks.add('onComplete.bench', (event: { node: { id: string }; error?: unknown }) => {
      if (event.node.id !== 'sender') return;
      settled++;
      if (event.error) failed++;
      if (settled === request.size) finished();
    });
    const sender = RED.nodes.getNode('sender');
    const startedAt = Date.now();
    const cpu = process.cpuUsage();
    recipients(request).forEach((to, i) => {
      sender?.receive({ contact: { email: to, firstName: `N${i}` }, to, topic: SUBJECT.replace('{{contact.firstName}}', `N${i}`), payload: BODY });
    });
    if (request.contender === 'node-red-node-email') {
      // no completion signal for failures: the parent reads the end time from the server
      await waitForSinkQuiet(request);
      return { startedAt, finishedAt: 0, settled: 0, failed: 0, peakRssMb: peakRssMb(), cpuMs: cpuMsSince(cpu) };
    }
    await allSettled;
    return { startedAt, finishedAt: Date.now(), settled, failed, peakRssMb: peakRssMb(), cpuMs: cpuMsSince(cpu) };
  } finally {
    await RED.stop();
    rmSync(userDir, { recursive: true, force: true });
  }
}

/** Asks the parent (which owns the sink) to tell when the server stopped receiving. */
function waitForSinkQuiet(request: RunRequest): Promise<void> {
  return new Promise((resolveQuiet) => {
    process.on('message', (message: { quiet?: boolean }) => {
      if (message.quiet) resolveQuiet();
    });
    process.send?.({ waitQuiet: request.size });
  });
}

async function runContender(request: RunRequest): Promise<void> {
  const result = request.contender === 'nodemailer' ? await runBareNodemailer(request) : await runNodeRed(request);
  process.send?.({ result });
  process.exit(0);
}

// ---------------------------------------------------------------- orchestration

function ask<T>(child: ChildProcess, command: unknown, key: string): Promise<T> {
  return new Promise((resolveAnswer) => {
    const listener = (message: Record<string, unknown>) => {
      if (key in message) {
        child.off('message', listener);
        resolveAnswer(message[key] as T);
      }
    };
    child.on('message', listener);
    if (command !== undefined) child.send(command as string);
  });
}

/**
 * Waits until the server has accepted `size` messages, or nothing more arrived for 10 s
 * (60 s before the first one: thousands of connections opened at once take a while).
 */
async function waitQuiet(sink: ChildProcess, size: number): Promise<SinkStats> {
  let previous = 0;
  let quietSince = Date.now();
  for (;;) {
    const stats = await ask<SinkStats>(sink, 'stats', 'stats');
    if (stats.accepted >= size) return stats;
    if (stats.accepted !== previous) {
      previous = stats.accepted;
      quietSince = Date.now();
    } else if (Date.now() - quietSince > (previous === 0 ? 60_000 : 10_000)) {
      return stats;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

interface Measurement {
  contender: Contender;
  size: number;
  rate: number;
  lost: number;
  duplicates: number;
  failed: number;
  peakRssMb: number;
  cpuMsPerThousand: number;
}

async function measure(sink: ChildProcess, port: number, contender: Contender, size: number, round: number): Promise<Measurement> {
  await ask(sink, 'reset', 'reset');
  const request: RunRequest = { contender, size, port, runId: `r${round}-${contender}-${size}`.replace(/[^a-z0-9-]/gi, '') };
  const child = fork(__filename, ['contender', JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (message: { waitQuiet?: number }) => {
    if (message.waitQuiet) void waitQuiet(sink, message.waitQuiet).then(() => child.send({ quiet: true }));
  });
  const result = await ask<RunResult>(child, undefined, 'result');
  const stats = await waitQuiet(sink, size);
  const finishedAt = contender === 'node-red-node-email' ? stats.lastAcceptedAt || Date.now() : result.finishedAt;
  const seconds = Math.max(1, finishedAt - result.startedAt) / 1000;
  return {
    contender,
    size,
    rate: stats.distinct / seconds,
    lost: size - stats.distinct,
    duplicates: stats.accepted - stats.distinct,
    failed: result.failed,
    peakRssMb: result.peakRssMb,
    cpuMsPerThousand: (result.cpuMs / size) * 1000,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

async function main(): Promise<void> {
  const sizes = option('sizes', '2000,10000').split(',').map(Number);
  const rounds = Number(option('rounds', '1'));
  const only = option('only', CONTENDERS.join(',')).split(',') as Contender[];
  installNodeEmail();
  const sink = fork(__filename, ['sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await ask<number>(sink, undefined, 'port');

  const idle = fork(__filename, ['contender', JSON.stringify({ contender: 'node-red-idle', size: 0, port, runId: 'idle' })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const baseline = await ask<RunResult>(idle, undefined, 'result');
  console.log(`Node.js ${process.version}, SMTP server in its own process on 127.0.0.1:${port}; `
    + `${rounds} round(s), contenders in rotating order; Node-RED idle RSS ${baseline.peakRssMb} MB`);

  const results: Measurement[] = [];
  for (const size of sizes) {
    for (let round = 0; round < rounds; round++) {
      const order = only.map((_, i) => only[(i + round) % only.length]);
      for (const contender of order) {
        const measurement = await measure(sink, port, contender, size, round);
        results.push(measurement);
        console.log(`  ${size} ${LABELS[contender]}: ${Math.round(measurement.rate)} msgs/s, lost ${measurement.lost}, `
          + `duplicates ${measurement.duplicates}, peak RSS ${measurement.peakRssMb} MB, `
          + `CPU ${Math.round(measurement.cpuMsPerThousand)} ms/1000 msgs`);
      }
    }
  }
  sink.send('stop');

  for (const size of sizes) {
    const of = (contender: Contender) => results.filter((r) => r.size === size && r.contender === contender);
    const bare = median(of('nodemailer').map((r) => r.rate));
    console.log(`\nBurst of ${size} (median of ${rounds} round(s); lost and duplicates summed)`);
    const bareCpu = median(of('nodemailer').map((r) => r.cpuMsPerThousand));
    console.log('| sender | msgs/s | vs bare nodemailer | lost | duplicates | peak RSS MB | sender CPU ms per 1000 msgs |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const contender of only) {
      const runs = of(contender);
      if (!runs.length) continue;
      const rate = median(runs.map((r) => r.rate));
      const sum = (key: 'lost' | 'duplicates') => runs.reduce((total, r) => total + r[key], 0);
      const cpu = median(runs.map((r) => r.cpuMsPerThousand));
      console.log(`| ${LABELS[contender]} | ${Math.round(rate)} | ${bare ? `${(rate / bare).toFixed(2)}x` : '-'} | ${sum('lost')} | ${sum('duplicates')} `
        + `| ${Math.round(median(runs.map((r) => r.peakRssMb)))} | ${Math.round(cpu)}${bareCpu ? ` (${(cpu / bareCpu).toFixed(2)}x)` : ''} |`);
    }
    const withLedger = median(of('marketing').map((r) => r.rate));
    const withoutLedger = median(of('marketing-noledger').map((r) => r.rate));
    if (withLedger && withoutLedger) {
      const cpuWith = median(of('marketing').map((r) => r.cpuMsPerThousand));
      const cpuWithout = median(of('marketing-noledger').map((r) => r.cpuMsPerThousand));
      console.log(`Ledger overhead: ${((1 - withLedger / withoutLedger) * 100).toFixed(1)}% in msgs/s, `
        + `${((cpuWith / cpuWithout - 1) * 100).toFixed(1)}% in sender CPU time (with vs without the send ledger)`);
    }
  }
}

const role = process.argv[2];
if (role === 'sink') runSink();
else if (role === 'contender') void runContender(JSON.parse(process.argv[3]) as RunRequest);
else void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
