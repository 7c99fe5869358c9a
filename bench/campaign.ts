/**
 * `npm run bench:campaign`: example 01 as it ships (csv -> segment -> prompt -> generate-text
 * with the bundled demo model, three candidates -> check copy -> send-email into the file
 * outbox), in the Node-RED runtime, on the whole sample list, with the local model's batching
 * off (*Batch* 1) and on (*Batch* 16), in turns, in one process. The generate node's seed is
 * emptied: seeded messages decode one request at a time by design (see the README's continuous
 * batching), so the shipped, seeded example gains nothing from batching. Each run gets a user
 * directory of its own (a new send ledger and outbox). Prints the time from the click to the
 * summary line (model load excluded: the model is loaded before the click), emails per second,
 * the ratio, and the machine's load.
 *
 *     npm run bench:campaign [-- --runs 2]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import helper from 'node-red-node-test-helper';
import { REVIEW_FOLDER_VARIABLE, SAMPLE_CONTACTS_VARIABLE } from '../nodes/common';
import checkNode from '../nodes/check/check';
import generateTextNode from '../nodes/generate-text/generate-text';
import llmNode from '../nodes/llm/llm';
import promptNode from '../nodes/prompt/prompt';
import segmentNode from '../nodes/segment/segment';
import sendEmailNode from '../nodes/send-email/send-email';
import smtpNode from '../nodes/smtp/smtp';
import { coreNodes, nodeOf, readExample, withHelperNodes } from '../test/support/examples';

const ROOT = resolve(__dirname, '..', '..');
const at = process.argv.indexOf('--runs');
const RUNS = at !== -1 ? Number(process.argv[at + 1]) : 1;
const TARGET = 3;

interface Outcome { seconds: number; sent: number; review: number; outbox: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function campaign(batchRows: number): Promise<Outcome> {
  const userDir = mkdtempSync(join(tmpdir(), 'bench-campaign-'));
  process.env[REVIEW_FOLDER_VARIABLE] = join(userDir, 'review');
  helper.settings({ userDir, logging: { console: { level: 'off' } } });
  const flow = withHelperNodes(readExample('01 - Campaign from a contact list')).map((node) => {
    if (node.type === 'marketing-llm') return { ...node, batchRows };
    if (node.type === 'marketing-generate-text') return { ...node, seed: '' };
    return node;
  });
  try {
    await helper.load([...coreNodes(), segmentNode, promptNode, llmNode, generateTextNode, checkNode, smtpNode, sendEmailNode], flow);
    const generate = helper.getNode(nodeOf(flow, 'marketing-generate-text').id) as unknown as { status: (s: { text?: string }) => void };
    // The model loads at deploy: wait for the generate node's "ready" status before the click.
    let ready = false;
    const setStatus = generate.status.bind(generate);
    generate.status = (s) => {
      if (typeof s.text === 'string' && /ready/.test(s.text)) ready = true;
      setStatus(s);
    };
    const summaries: Array<{ summary: { sent: number; heldForReview: number } }> = [];
    helper.getNode(nodeOf(flow, 'helper', 'campaign summary').id).on('input', (msg: unknown) => summaries.push(msg as (typeof summaries)[0]));
    for (let waited = 0; !ready && waited < 60_000; waited += 100) await sleep(100);
    const started = performance.now();
    helper.getNode(nodeOf(flow, 'inject', 'sample contact list (CSV)').id).receive({});
    while (summaries.length === 0) await sleep(100);
    const seconds = (performance.now() - started) / 1000;
    const { sent, heldForReview } = summaries[0].summary;
    return { seconds, sent, review: heldForReview, outbox: readdirSync(join(userDir, 'outbox')).filter((f) => f.endsWith('.eml')).length };
  } finally {
    await helper.unload();
    rmSync(userDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  helper.init(require.resolve('node-red'));
  process.env[SAMPLE_CONTACTS_VARIABLE] = join(ROOT, 'examples', 'sample-contacts.csv');
  const load = loadavg()[0];
  console.log(`bench:campaign: example 01 on the sample list (no seed), batching off (Batch 1) vs on (Batch 16), ${RUNS} run(s) each, in turns; load average ${load.toFixed(2)}`);
  const results: Record<string, Outcome[]> = { off: [], on: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const [name, rows] of [['off', 1], ['on', 16]] as const) {
      const outcome = await campaign(rows);
      results[name].push(outcome);
      console.log(`  batching ${name.padEnd(3)}: ${outcome.seconds.toFixed(1)} s, ${outcome.sent} sent (${outcome.outbox} .eml in the outbox), ${outcome.review} held for review: ${(outcome.sent / outcome.seconds).toFixed(2)} emails/s`);
    }
  }
  const median = (list: Outcome[]) => list.map((o) => o.sent / o.seconds).sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const ratio = median(results.on) / median(results.off);
  console.log(`ratio on / off (median emails/s): ${ratio.toFixed(2)}x, target >= ${TARGET}x: ${ratio >= TARGET ? 'met' : 'MISSED'}; load average after ${loadavg()[0].toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
