/**
 * `npm run eval:copy`: what the demo model writes on example 01's own path, and what the checks catch.
 *
 * The shipped sample list goes through example 01's nodes as they ship (csv -> segment ->
 * language and offer -> prompt -> generate-text with the bundled demo model -> check copy) in the
 * Node-RED runtime, seeded, twice:
 *
 *  1. one text per contact and no check: each text is classified by the same check functions
 *     (lib/checks, with the example's settings and its msg.check), as a reader would grade it,
 *     plus "other shop": a sign-off or welcome that names a shop other than the sender's;
 *  2. three candidates per contact (one batch) through the check node: the share held for
 *     review, and each defect among the texts that passed (the checks must leave none).
 *
 * `--compare REV` also runs step 1 with the example 01 and the demo model of git revision REV
 * (e.g. `15da72f`, the first demo model), so both models are measured in one run, side by side.
 *
 *     npm run eval:copy [-- --rows 120] [-- --seed 7] [-- --show 5] [-- --show-review 5] [-- --compare REV]
 *
 * `--example FILE` runs another version of example 01's flow. `--seed` replaces the example's seed (7). `--show N` prints N single texts per language to read;
 * `--show-review N` prints N contacts held for review with every candidate's findings. `--rows`
 * limits the list to its first rows (0 = all 238; the default 100 keeps the run to a few minutes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import helper from 'node-red-node-test-helper';
import { checkSettingsFromConfig, compileChecks, listOf, type CheckConfig, type CopyChecker, type Finding } from '../lib/checks';
import checkNode from '../nodes/check/check';
import generateTextNode from '../nodes/generate-text/generate-text';
import llmNode from '../nodes/llm/llm';
import promptNode from '../nodes/prompt/prompt';
import segmentNode from '../nodes/segment/segment';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = join('examples', '01 - Campaign from a contact list.json');

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const rows = Number(argument('rows', '100'));
const seed = argument('seed', '');
const show = Number(argument('show', '5'));
const showReview = Number(argument('show-review', '0'));
const compare = argument('compare', '');
const exampleFile = argument('example', join(ROOT, EXAMPLE));

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string; wires?: string[][] };
type Message = Record<string, unknown> & { contact: Record<string, unknown>; segment: { name: string }; check?: Record<string, unknown> };

/** The defects counted, each by the finding codes that show it ('other shop' also by shopsNamed). */
const DEFECTS: Record<string, string[]> = {
  'wrong/no name': ['wrongPerson', 'notAddressed'],
  'wrong language': ['wrongLanguage'],
  'invented offer': ['inventedOffer'],
  'other shop': ['otherBrand', 'otherShop'],
  repetition: ['repeatedSentence', 'repetition'],
  'prompt echo': ['promptEcho'],
};

/** Where copy names its sender: sign-offs and welcomes, in English and Chinese. */
const SHOP_SLOTS = [
  /^The ([^\n]{2,40}?) team$/gmu, /^The team at ([^\n]{2,40})$/gmu, /^Your friends at ([^\n]{2,40})$/gmu,
  /^With thanks,\n([^\n]{2,40})$/gmu, /\b[Ww]elcome to (?:the )?([A-Z][^\n.!,]{1,40}?)(?: family)?[.!,]/gu,
  /^([^\n]{2,30}?)团队敬上$/gmu, /^([^\n]{2,30}?)全体成员$/gmu, /^(?:祝好！|此致)\n([^\n]{2,30})$/gmu, /欢迎加入([^\n！。，]{2,30})[！。，]/gu,
];

/** What fills a slot without naming a shop: "welcome to our shop", "欢迎加入我们". */
const NO_SHOP = /^(?:(?:our|us)\b|我们|本店)/iu;

/** The shops a text names where copy names its sender, when one of them is not `brand`. */
export function shopsNamed(text: string, brand: string): string[] {
  const names: string[] = [];
  for (const slot of SHOP_SLOTS) for (const match of text.matchAll(slot)) names.push(match[1].trim());
  const own = brand.trim().toLowerCase();
  return names.filter((name) => !NO_SHOP.test(name) && (own === '' || !name.toLowerCase().includes(own)));
}

/** Example 01 as some revision ships it, with the model folder it uses. */
class Campaign {
  readonly flow: FlowNode[];
  readonly tab: FlowNode & { env?: { name: string; value: string }[] };
  readonly env: Map<string, string>;
  /** The check node's settings as the flow's environment resolves them, and the shop they name. */
  private readonly checkConfig: CheckConfig;
  private readonly brand: string;
  private readonly checkers = new Map<string, CopyChecker>();

  constructor(readonly label: string, flowFile: string, readonly modelFolder?: string) {
    this.flow = JSON.parse(readFileSync(flowFile, 'utf8'));
    this.tab = this.flow.find((node) => node.type === 'tab') as Campaign['tab'];
    this.env = new Map((this.tab.env ?? []).map((variable) => [variable.name, variable.value]));
    this.checkConfig = this.withEnv(this.byType('marketing-check')) as CheckConfig;
    this.brand = String(this.checkConfig.brand ?? '');
  }

  byType(type: string): FlowNode {
    return this.flow.find((node) => node.type === type) as FlowNode;
  }

  /** `${NAME}` settings as Node-RED resolves them from the tab's environment. */
  withEnv(node: FlowNode): FlowNode {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key,
      typeof value === 'string' && /^\$\{(\w+)\}$/.test(value) ? this.env.get(value.slice(2, -1)) ?? '' : value])) as FlowNode;
  }

  /** The check node's settings, with the allowed offers the flow puts in msg.check. */
  checker(msg: Message): CopyChecker {
    const offers = msg.check?.allowedOffers;
    const key = JSON.stringify(offers ?? null);
    let checker = this.checkers.get(key);
    if (!checker) {
      const settings = checkSettingsFromConfig(this.checkConfig);
      checker = compileChecks(offers === undefined ? settings : { ...settings, allowedOffers: listOf(offers) });
      this.checkers.set(key, checker);
    }
    return checker;
  }

  /** The finding codes of one text, 'otherShop' included. */
  codes(msg: Message, text: string): Set<string> {
    const codes = new Set(this.checker(msg).check(text, { contact: msg.contact, segment: msg.segment.name, prompt: msg.prompt as string }).failed.map((f: Finding) => f.code));
    if (shopsNamed(text, this.brand).length > 0) codes.add('otherShop');
    return codes;
  }

  /** The path from the csv node to the check node, as shipped but for the seed, the candidates, the model and the ends. */
  evalFlow(candidates: number): FlowNode[] {
    const csv = this.byType('csv');
    const segment = this.byType('marketing-segment');
    const language = this.flow.find((node) => node.type === 'change' && String(node.name).startsWith('language')) as FlowNode;
    const prompt = this.byType('marketing-prompt');
    const generate = this.byType('marketing-generate-text');
    const check = this.byType('marketing-check');
    const llm = this.byType('marketing-llm');
    const withChecks = candidates > 1;
    // Nodes between generate-text and the check (none, or e.g. one that adds the greeting) stay.
    const between: FlowNode[] = [];
    for (let next = generate.wires?.[0]?.[0]; next !== undefined && next !== check.id;) {
      const node = this.flow.find((n) => n.id === next) as FlowNode;
      between.push(node);
      next = node.wires?.[0]?.[0];
    }
    const afterGenerate = withChecks ? check.id : 'texts';
    const chain = between.map((node, i) => ({ ...node, wires: [[i + 1 < between.length ? between[i + 1].id : afterGenerate]] }));
    return [
      { ...this.tab },
      this.modelFolder ? { ...llm, source: 'folder', folder: this.modelFolder } : llm,
      { ...csv, wires: [[segment.id]] },
      { ...segment, wires: [[language.id], [language.id], [language.id], []] },
      language,
      prompt,
      { ...generate, seed: seed || generate.seed, num_return_sequences: candidates, wires: [[chain[0]?.id ?? afterGenerate]] },
      ...chain,
      { ...check, wires: [['passed'], ['review']] },
      { id: 'catch', type: 'catch', z: this.tab.id, x: 100, y: 500, scope: null, uncaught: false, wires: [['errors']] },
      ...['texts', 'passed', 'review', 'errors'].map((id) => ({ id, type: 'helper', z: this.tab.id, x: 300, y: 500, wires: [] })),
    ];
  }
}

function coreNodes(): unknown[] {
  const core = createRequire(require.resolve('node-red'));
  return ['common/25-catch.js', 'function/15-change.js', 'parsers/70-CSV.js'].map((file) => core(`@node-red/nodes/core/${file}`) as unknown);
}

interface Run { texts: Message[]; passed: Message[]; review: Message[]; errors: Message[]; seconds: number }

async function run(campaign: Campaign, candidates: number, csvText: string, expected: number): Promise<Run> {
  await helper.load([...coreNodes(), llmNode, segmentNode, promptNode, generateTextNode, checkNode], campaign.evalFlow(candidates));
  const out: Run = { texts: [], passed: [], review: [], errors: [], seconds: 0 };
  for (const id of ['texts', 'passed', 'review', 'errors'] as const) helper.getNode(id).on('input', (msg: unknown) => out[id].push(msg as Message));
  const started = process.hrtime.bigint();
  helper.getNode(campaign.byType('csv').id).receive({ payload: csvText });
  const done = () => out.texts.length + out.passed.length + out.review.length + out.errors.length;
  let last = -1;
  while (done() < expected) {
    await new Promise((r) => setTimeout(r, 200));
    if (done() !== last) {
      last = done();
      process.stderr.write(`\r  ${campaign.label}, ${candidates} candidate(s): ${last}/${expected}`);
    }
  }
  out.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write('\n');
  await helper.unload();
  return out;
}

/** The contacts the segment node sends on: the list's mailable contacts in a segment. */
async function countTargeted(campaign: Campaign, csvText: string): Promise<number> {
  const csv = campaign.byType('csv');
  const segment = campaign.byType('marketing-segment');
  await helper.load([...coreNodes(), segmentNode], [
    { ...campaign.tab }, { ...csv, wires: [[segment.id]] }, { ...segment, wires: [['t'], ['t'], ['t'], []] },
    { id: 't', type: 'helper', z: campaign.tab.id, x: 1, y: 1, wires: [] }]);
  let count = 0;
  helper.getNode('t').on('input', () => count++);
  helper.getNode(csv.id).receive({ payload: csvText });
  await new Promise((r) => setTimeout(r, 1000));
  await helper.unload();
  return count;
}

const pct = (n: number, of: number, digits = 0) => (of === 0 ? '-' : `${((100 * n) / of).toFixed(digits)}%`);

function table(title: string, columns: string[], lines: string[][]): void {
  console.log(`\n${title}`);
  const widths = columns.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(row(columns));
  console.log(`|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const line of lines) console.log(row(line));
}

const GROUPS: [string, (m: Message) => boolean][] = [
  ['new customers', (m) => m.segment.name === 'new customers'], ['loyal', (m) => m.segment.name === 'loyal'],
  ['at risk', (m) => m.segment.name === 'at risk'], ['English', (m) => m.contact.language !== 'zh'],
  ['Chinese', (m) => m.contact.language === 'zh'], ['total', () => true],
];

function defectShares(campaign: Campaign, messages: Message[], textOf: (m: Message) => string, digits = 0): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  const share = (n: number, of: number) => pct(n, of, digits);
  for (const [name, inGroup] of GROUPS) {
    const group = messages.filter(inGroup);
    const codes = group.map((m) => campaign.codes(m, textOf(m)));
    lines.set(name, [String(group.length), ...Object.values(DEFECTS).map((defect) => share(codes.filter((c) => defect.some((d) => c.has(d))).length, group.length))]);
  }
  return lines;
}

/** Example 01 and the demo model of git revision `rev`, unpacked into a temporary folder. */
function campaignAt(rev: string): { campaign: Campaign; cleanup: () => void } {
  const folder = mkdtempSync(join(tmpdir(), 'eval-copy-'));
  const archive = execFileSync('git', ['archive', rev, 'models/demo-gpt2', 'examples'], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', folder], { input: archive });
  return { campaign: new Campaign(`model of ${rev}`, join(folder, EXAMPLE), join(folder, 'models', 'demo-gpt2')), cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

async function main(): Promise<void> {
  helper.init(require.resolve('node-red'));
  helper.settings({ userDir: tmpdir(), logging: { console: { level: 'off' } } });
  const [header, ...lines] = readFileSync(join(ROOT, 'examples', 'sample-contacts.csv'), 'utf8').trim().split('\n');
  const csvText = [header, ...(rows > 0 ? lines.slice(0, rows) : lines), ''].join('\n');
  const current = new Campaign('this model', resolve(exampleFile));
  const targeted = await countTargeted(current, csvText);
  console.log(`eval:copy: example 01 on ${rows > 0 ? `the first ${rows} rows` : 'all rows'} of examples/sample-contacts.csv (${targeted} contacts in a segment), bundled demo model, seed ${seed || current.byType('marketing-generate-text').seed}`);
  const columns = ['group', 'emails', ...Object.keys(DEFECTS)];

  if (compare) {
    const { campaign: old, cleanup } = campaignAt(compare);
    try {
      const oldSingle = await run(old, 1, csvText, targeted);
      table(`0. The same, with example 01 and the demo model of ${compare} (its prompts, its checks):`, columns,
        [...defectShares(old, oldSingle.texts, (m) => String(m.payload), 1)].map(([name, cells]) => [name, ...cells]));
    } finally {
      cleanup();
    }
  }

  const single = await run(current, 1, csvText, targeted);
  table('1. One text per contact, no check (share of texts with each defect):', columns,
    [...defectShares(current, single.texts, (m) => String(m.payload), 1)].map(([name, cells]) => [name, ...cells]));

  const best = await run(current, 3, csvText, targeted);
  // The check node replaces msg.check with its results: the offers the flow allowed each contact
  // are those its messages carried in the first run, before any check.
  const allowed = new Map(single.texts.map((m) => [String(m.contact.email), m.check]));
  for (const m of best.passed) m.check = allowed.get(String(m.contact.email));
  const passedShares = defectShares(current, best.passed, (m) => String(m.payload));
  table('2. Best of 3 with checks (contacts; share held for review; share of passed emails with each defect):',
    ['group', 'contacts', 'passed', 'held for review', ...Object.keys(DEFECTS)],
    GROUPS.map(([name, inGroup]) => {
      const passed = best.passed.filter(inGroup).length;
      const review = best.review.filter(inGroup).length;
      return [name, String(passed + review), String(passed), pct(review, passed + review, 1), ...(passedShares.get(name) ?? []).slice(1)];
    }));

  const emails3 = best.passed.length + best.review.length;
  const perEmail1 = single.seconds / Math.max(1, single.texts.length);
  const perEmail3 = best.seconds / Math.max(1, emails3);
  const generation = (messages: Message[]) => messages.reduce((sum, m) => sum + ((m.generation as { durationMs?: number })?.durationMs ?? 0), 0) / 1000 / Math.max(1, messages.length);
  const generation1 = generation(single.texts);
  const generation3 = generation([...best.passed, ...best.review]);
  console.log(`\nTime per email, wall clock from the list to the last email (model load included): 1 candidate ${perEmail1.toFixed(2)} s, 3 candidates (one batch) + checks ${perEmail3.toFixed(2)} s: ratio ${(perEmail3 / perEmail1).toFixed(2)}x (target < 1.5x)`);
  console.log(`Generation time per email as generate-text reports it (msg.generation.durationMs): ${generation1.toFixed(2)} s and ${generation3.toFixed(2)} s: ratio ${(generation3 / generation1).toFixed(2)}x`);
  const reviewShare = best.review.length / Math.max(1, emails3);
  console.log(`Held for review: ${(100 * reviewShare).toFixed(1)}% (target < 3%)`);
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
    for (const [language, label] of [['en', 'English'], ['zh', 'Chinese']]) {
      console.log(`\nSingle texts (no check) to read, ${label}, the first ${show}:`);
      for (const m of single.texts.filter((t) => (t.contact.language === 'zh') === (language === 'zh')).slice(0, show)) {
        console.log(`- ${m.contact.name} (${m.segment.name}): ${String(m.prompt)}\n  ${String(m.payload).replace(/\n/g, '\n  ')}`);
      }
    }
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

if (require.main === module) {
  main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
  });
}
