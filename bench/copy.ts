/**
 * `npm run eval:copy`: what the checks catch, measured on example 01's own path.
 *
 * The shipped sample list goes through example 01's nodes as they ship (csv -> segment ->
 * language -> prompt -> generate-text with the bundled demo model -> check copy) in the
 * Node-RED runtime, seeded, twice:
 *
 *  1. one text per contact and no check: each text is classified by the same check
 *     functions (lib/checks, with the example's settings), as a reader would grade it;
 *  2. three candidates per contact (one batch) through the check node: the share held for
 *     review, and each defect among the texts that passed (the checks must leave none).
 *
 * It prints both tables, the time per email and the cost of three candidates against one,
 * and a few passing texts to read.
 *
 *     npm run eval:copy [-- --rows 120] [-- --seed 7] [-- --show 12] [-- --show-review 5]
 *
 * `--seed` replaces the example's seed (7). `--show-review N` prints N contacts held for review with
 * every candidate's findings. `--rows` limits the list to its first rows (0 = all 238; the default 100 keeps the run
 * to a few minutes on a small machine).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import helper from 'node-red-node-test-helper';
import { checkSettingsFromConfig, compileChecks, type CheckConfig, type Finding } from '../lib/checks';
import checkNode from '../nodes/check/check';
import generateTextNode from '../nodes/generate-text/generate-text';
import llmNode from '../nodes/llm/llm';
import promptNode from '../nodes/prompt/prompt';
import segmentNode from '../nodes/segment/segment';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', '01 - Campaign from a contact list.json');

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const rows = Number(argument('rows', '100'));
const seed = argument('seed', '');
const show = Number(argument('show', '12'));
const showReview = Number(argument('show-review', '0'));

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string; wires?: string[][] };
type Message = Record<string, unknown> & { contact: Record<string, unknown>; segment: { name: string } };

/** The defects counted, each by the finding codes that show it. */
const DEFECTS: Record<string, string[]> = {
  'wrong/no name': ['wrongPerson', 'notAddressed'],
  'wrong language': ['wrongLanguage'],
  'invented offer': ['inventedOffer'],
  'other brand': ['otherBrand'],
  repetition: ['repeatedSentence', 'repetition'],
  'prompt echo': ['promptEcho'],
};

const flow: FlowNode[] = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
const tab = flow.find((node) => node.type === 'tab') as FlowNode & { env: { name: string; value: string }[] };
const byType = (type: string) => flow.find((node) => node.type === type) as FlowNode;
const env = new Map(tab.env.map((variable) => [variable.name, variable.value]));
/** `${NAME}` settings as Node-RED resolves them from the tab's environment. */
const withEnv = (node: FlowNode) => Object.fromEntries(Object.entries(node).map(([key, value]) => [key,
  typeof value === 'string' && /^\$\{(\w+)\}$/.test(value) ? env.get(value.slice(2, -1)) ?? '' : value]));
const checker = compileChecks(checkSettingsFromConfig(withEnv(byType('marketing-check')) as CheckConfig));

function coreNodes(): unknown[] {
  const core = createRequire(require.resolve('node-red'));
  return ['common/25-catch.js', 'function/15-change.js', 'parsers/70-CSV.js'].map((file) => core(`@node-red/nodes/core/${file}`) as unknown);
}

/** Example 01's path from the csv node to the check node, as shipped but for the seed, the candidates and the ends. */
function evalFlow(candidates: number): FlowNode[] {
  const csv = byType('csv');
  const segment = byType('marketing-segment');
  const language = flow.find((node) => node.type === 'change' && node.name === 'language') as FlowNode;
  const prompt = byType('marketing-prompt');
  const generate = byType('marketing-generate-text');
  const check = byType('marketing-check');
  const withChecks = candidates > 1;
  return [
    { ...tab },
    byType('marketing-llm'),
    { ...csv, wires: [[segment.id]] },
    { ...segment, wires: [[language.id], [language.id], [language.id], []] },
    language,
    prompt,
    { ...generate, seed: seed || generate.seed, num_return_sequences: candidates, wires: [[withChecks ? check.id : 'texts']] },
    { ...check, wires: [['passed'], ['review']] },
    { id: 'catch', type: 'catch', z: tab.id, x: 100, y: 500, scope: null, uncaught: false, wires: [['errors']] },
    ...['texts', 'passed', 'review', 'errors'].map((id) => ({ id, type: 'helper', z: tab.id, x: 300, y: 500, wires: [] })),
  ];
}

interface Run { texts: Message[]; passed: Message[]; review: Message[]; errors: Message[]; seconds: number }

async function run(candidates: number, csvText: string, expected: number): Promise<Run> {
  await helper.load([...coreNodes(), llmNode, segmentNode, promptNode, generateTextNode, checkNode], evalFlow(candidates));
  const out: Run = { texts: [], passed: [], review: [], errors: [], seconds: 0 };
  for (const id of ['texts', 'passed', 'review', 'errors'] as const) helper.getNode(id).on('input', (msg: unknown) => out[id].push(msg as Message));
  const started = process.hrtime.bigint();
  helper.getNode(byType('csv').id).receive({ payload: csvText });
  const done = () => out.texts.length + out.passed.length + out.review.length + out.errors.length;
  let last = -1;
  while (done() < expected) {
    await new Promise((r) => setTimeout(r, 200));
    if (done() !== last) {
      last = done();
      process.stderr.write(`\r  ${candidates} candidate(s): ${last}/${expected}`);
    }
  }
  out.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write('\n');
  await helper.unload();
  return out;
}

/** The contacts the segment node sends on: the list's mailable contacts in a segment. */
async function countTargeted(csvText: string): Promise<number> {
  const csv = byType('csv');
  const segment = byType('marketing-segment');
  await helper.load([...coreNodes(), segmentNode], [
    { ...tab }, { ...csv, wires: [[segment.id]] }, { ...segment, wires: [['t'], ['t'], ['t'], []] },
    { id: 't', type: 'helper', z: tab.id, x: 1, y: 1, wires: [] }]);
  let count = 0;
  helper.getNode('t').on('input', () => count++);
  helper.getNode(csv.id).receive({ payload: csvText });
  await new Promise((r) => setTimeout(r, 1000));
  await helper.unload();
  return count;
}

const codesOf = (findings: Finding[]) => new Set(findings.map((f) => f.code));
const pct = (n: number, of: number) => (of === 0 ? '-' : `${((100 * n) / of).toFixed(0)}%`);

function table(title: string, columns: string[], lines: string[][]): void {
  console.log(`\n${title}`);
  const widths = columns.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(row(columns));
  console.log(`|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const line of lines) console.log(row(line));
}

function defectShares(messages: Message[], textOf: (m: Message) => string): Map<string, string[]> {
  const segments = ['new customers', 'loyal', 'at risk', 'total'];
  const lines = new Map<string, string[]>();
  for (const name of segments) {
    const group = name === 'total' ? messages : messages.filter((m) => m.segment.name === name);
    const codes = group.map((m) => codesOf(checker.check(textOf(m), { contact: m.contact, segment: m.segment.name, prompt: m.prompt as string }).failed));
    lines.set(name, [String(group.length), ...Object.values(DEFECTS).map((defect) => pct(codes.filter((c) => defect.some((d) => c.has(d))).length, group.length))]);
  }
  return lines;
}

async function main(): Promise<void> {
  helper.init(require.resolve('node-red'));
  helper.settings({ userDir: tmpdir(), logging: { console: { level: 'off' } } });
  const [header, ...lines] = readFileSync(join(ROOT, 'examples', 'sample-contacts.csv'), 'utf8').trim().split('\n');
  const csvText = [header, ...(rows > 0 ? lines.slice(0, rows) : lines), ''].join('\n');
  const targeted = await countTargeted(csvText);
  console.log(`eval:copy: example 01 on ${rows > 0 ? `the first ${rows} rows` : 'all rows'} of examples/sample-contacts.csv (${targeted} contacts in a segment), bundled demo model, seed ${seed || byType('marketing-generate-text').seed}`);

  const single = await run(1, csvText, targeted);
  const best = await run(3, csvText, targeted);
  const columns = ['segment', 'emails', ...Object.keys(DEFECTS)];

  const one = defectShares(single.texts, (m) => String(m.payload));
  table('1. One text per contact, no check (share of texts with each defect):', columns, [...one].map(([name, cells]) => [name, ...cells]));

  const passedShares = defectShares(best.passed, (m) => String(m.payload));
  const segmentsAndTotal = ['new customers', 'loyal', 'at risk', 'total'];
  table('2. Best of 3 with checks (contacts; share held for review; share of passed emails with each defect):',
    ['segment', 'contacts', 'passed', 'held for review', ...Object.keys(DEFECTS)],
    segmentsAndTotal.map((name) => {
      const inGroup = (m: Message) => name === 'total' || m.segment.name === name;
      const passed = best.passed.filter(inGroup).length;
      const review = best.review.filter(inGroup).length;
      return [name, String(passed + review), String(passed), pct(review, passed + review), ...(passedShares.get(name) ?? []).slice(1)];
    }));

  const emails3 = best.passed.length + best.review.length;
  const perEmail1 = single.seconds / Math.max(1, single.texts.length);
  const perEmail3 = best.seconds / Math.max(1, emails3);
  const generation = (messages: Message[]) => messages.reduce((sum, m) => sum + ((m.generation as { durationMs?: number })?.durationMs ?? 0), 0) / 1000 / Math.max(1, messages.length);
  const generation1 = generation(single.texts);
  const generation3 = generation([...best.passed, ...best.review]);
  console.log(`\nTime per email, wall clock from the list to the last email (model load included): 1 candidate ${perEmail1.toFixed(2)} s, 3 candidates (one batch) + checks ${perEmail3.toFixed(2)} s: ratio ${(perEmail3 / perEmail1).toFixed(2)}x (target < 1.5x)`);
  console.log(`Generation time per email as generate-text reports it (msg.generation.durationMs): ${generation1.toFixed(2)} s and ${generation3.toFixed(2)} s: ratio ${(generation3 / generation1).toFixed(2)}x`);
  const reviewShare = best.review.length / Math.max(1, best.passed.length + best.review.length);
  console.log(`Held for review: ${(100 * reviewShare).toFixed(1)}% (target < 10%)`);
  if (single.errors.length + best.errors.length > 0) console.log(`Errors: ${single.errors.length + best.errors.length}`);

  const reasons = new Map<string, number>();
  for (const m of best.review) {
    for (const candidate of (m.check as { candidates: { failed: { code: string }[] }[] }).candidates) {
      for (const code of new Set(candidate.failed.map((f) => f.code))) reasons.set(code, (reasons.get(code) ?? 0) + 1);
    }
  }
  console.log(`Why candidates of held contacts failed (candidates): ${[...reasons].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);

  if (showReview > 0) printReview(best);
  if (show > 0) {
    console.log(`\nPassing texts to read (the first ${show}):`);
    for (const m of best.passed.slice(0, show)) console.log(`- [${m.contact.language}] ${m.contact.name} (${m.segment.name}): ${String(m.payload).replace(/\n+/g, ' / ')}`);
  }
}

function printReview(best: Run): void {
  console.log(`\nHeld for review (the first ${showReview}):`);
  for (const m of best.review.slice(0, showReview)) {
    console.log(`- [${m.contact.language}] ${m.contact.name} (${m.segment.name}):`);
    for (const c of (m.check as { candidates: { text: string; failed: { code: string; excerpt: string }[] }[] }).candidates) {
      console.log(`    ${c.failed.map((f) => `${f.code} «${f.excerpt}»`).join('; ')}\n      ${c.text.replace(/\n+/g, ' / ')}`);
    }
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
