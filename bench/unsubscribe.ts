/**
 * `npm run bench:unsubscribe`: how many one-click unsubscribes a second example 05's endpoint
 * sustains with the file store, and how soon a suppression stops the next send.
 *
 * A real Node-RED process (a child, as users run it) runs example 05 with an unsubscribe
 * secret deployed through the Admin API and the suppress node's rate limit off, plus a probe:
 * `POST /probe` hands `{email}` to a send-email node (file outbox) and answers its outcome.
 * The benchmark then
 * 1. POSTs `--requests` one-click unsubscribes (each a new address, signed tokens) with
 *    `--concurrency` requests at a time, and prints requests per second and latency
 *    percentiles (request sent to answer received; the answer goes out after the record's
 *    fdatasync);
 * 2. the same again for addresses already suppressed (nothing written);
 * 3. for `--probes` new addresses one after the other: unsubscribe, then at once ask the
 *    send node to mail the address; every probe must come back `skipped`/`suppressed`.
 *
 *     npm run bench:unsubscribe [-- --requests 3000] [-- --concurrency 16] [-- --probes 100]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signUnsubscribeToken } from '../lib/consent/token';
import { DEFAULT_SUPPRESSION_FILE } from '../lib/consent/suppression';
import { readExample, type FlowNode } from '../test/support/examples';
import { startNodeRed } from '../test/support/node-red-process';

const SECRET = 'bench-unsubscribe-secret-0123456789';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const REQUESTS = argument('requests', 3000);
const CONCURRENCY = argument('concurrency', 16);
const PROBES = argument('probes', 100);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The example with the rate limit off and the probe endpoint. */
function benchFlow(): FlowNode[] {
  const flow = readExample('05 - Unsubscribe and bounces').map((node) => (node.type === 'marketing-suppress' ? { ...node, rateLimit: 0 } : node));
  const tab = flow.find((node) => node.type === 'tab')?.id as string;
  const smtp = flow.find((node) => node.type === 'marketing-smtp')?.id as string;
  flow.push(
    { id: 'b0000000000000001', type: 'http in', z: tab, name: '', url: '/probe', method: 'post', upload: false, swaggerDoc: '', x: 120, y: 400, wires: [['b0000000000000005']] },
    {
      id: 'b0000000000000005', type: 'function', z: tab, name: 'contact', func: 'msg.contact = msg.payload; msg.payload = "Hello"; return msg;', outputs: 1,
      x: 220, y: 440, wires: [['b0000000000000002']],
    },
    {
      id: 'b0000000000000002', type: 'marketing-send-email', z: tab, name: '', smtp, campaign: 'bench', from: 'news@shop.example', subject: 'Hi',
      text: 'Hello', html: '', recipientField: 'email', nameField: 'name', optOutField: 'unsubscribed', ledger: true, x: 320, y: 400,
      wires: [['b0000000000000003'], ['b0000000000000003']],
    },
    {
      id: 'b0000000000000003', type: 'function', z: tab, name: 'outcome', func: 'msg.payload = msg.email; return msg;', outputs: 1, x: 520, y: 400,
      wires: [['b0000000000000004']],
    },
    { id: 'b0000000000000004', type: 'http response', z: tab, name: '', statusCode: '', headers: {}, x: 700, y: 400, wires: [] },
  );
  return flow;
}

async function main(): Promise<void> {
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-bench-unsubscribe-'));
  const red = await startNodeRed({ userDir, linkPackage: true, flows: benchFlow() });
  try {
    await red.waitForOutput(/Started flows/);
    const flows = (await (await fetch(new URL('flows', red.url))).json()) as FlowNode[];
    const deployed = await fetch(new URL('flows', red.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows.map((node) => (node.type === 'marketing-smtp' ? { ...node, credentials: { unsubscribeSecret: SECRET } } : node))),
    });
    if (deployed.status !== 204) throw new Error(`deploy: ${deployed.status} ${await deployed.text()}`);
    await red.waitForOutput(/Started flows[\s\S]*Started flows/);

    const unsubscribe = async (email: string): Promise<number> => {
      const token = signUnsubscribeToken({ email, campaign: 'bench', list: 'newsletter' }, SECRET);
      const started = performance.now();
      const response = await fetch(new URL(`unsubscribe?token=${token}`, red.url), {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click',
      });
      await response.text();
      if (response.status !== 200) throw new Error(`unsubscribe ${email}: HTTP ${response.status}`);
      return performance.now() - started;
    };

    const round = async (label: string, emails: string[]): Promise<void> => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < emails.length) latencies.push(await unsubscribe(emails[next++]));
      }));
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      console.log(`${label}: ${emails.length} requests, ${CONCURRENCY} at a time, ${(emails.length / seconds).toFixed(0)} requests/s; `
        + `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, `
        + `max ${latencies[latencies.length - 1].toFixed(1)} ms`);
    };

    const emails = Array.from({ length: REQUESTS }, (_, i) => `reader${i}@example.com`);
    await round('new addresses (one record each, fdatasync)', emails);
    await round('already suppressed (nothing written)', emails);
    const lines = readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8').trim().split('\n').length;
    console.log(`suppression list: ${lines} lines for ${REQUESTS} addresses`);

    let stopped = 0;
    const afterAnswer: number[] = [];
    for (let i = 0; i < PROBES; i++) {
      const email = `probe${i}@example.com`;
      const latency = await unsubscribe(email);
      const started = performance.now();
      const answer = (await (await fetch(new URL('probe', red.url), {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }),
      })).json()) as { status?: string; reason?: string };
      afterAnswer.push(latency + performance.now() - started);
      if (answer.status === 'skipped' && answer.reason === 'suppressed') stopped++;
    }
    afterAnswer.sort((a, b) => a - b);
    console.log(`next send after the answer: ${stopped} of ${PROBES} refused as suppressed; unsubscribe + refused send p50 ${percentile(afterAnswer, 50).toFixed(1)} ms`);
    console.log(`load average ${loadavg().map((load) => load.toFixed(1)).join(' ')}; ${process.version}`);
  } finally {
    await red.stop();
    rmSync(userDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
