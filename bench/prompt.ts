/**
 * `npm run bench:prompt`: prompts per second for 100,000 contacts with a typical
 * 400-character template of 8 variables, parsed once:
 * - in lib/ (compileTemplate + render), against mustache's own renderer on the same template;
 * - through the marketing-prompt node in a real Node-RED runtime (in this process), against
 *   the core Template node doing the same job and the runtime's own cost per message.
 * Figures are medians of a few runs after a warm-up; the machine is shared, so expect noise.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Mustache from 'mustache';
import { compileTemplate } from '../lib/template';
import { installPackageLink } from '../test/support/package-link';

const CONTACTS = 100_000;
const RUNS = 5;

const template =
  'You write for Acme Outdoor. Write a short, warm email to {{contact.firstName}} {{contact.lastName}}, ' +
  'who lives in {{contact.city}} and works as {{contact.jobTitle}} at {{contact.company}}. ' +
  'They belong to our {{segment.name}} customers, last bought {{contact.lastProduct}} and have spent ' +
  '{{contact.totalSpent}} EUR with us. Mention that product, suggest one item that goes with it, ' +
  'and end with a question.';

const firstNames = ['Ann', 'Bob', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grace', 'Hiro'];
const cities = ['Lyon', 'Berlin', 'Porto', 'Osaka', 'Austin', 'Leeds'];
const products = ['trail shoes', 'a rain jacket', 'a tent', 'hiking poles', 'a sleeping bag'];

function makeContacts(): Record<string, unknown>[] {
  return Array.from({ length: CONTACTS }, (_, i) => ({
    email: `customer${i}@example.com`,
    firstName: firstNames[i % firstNames.length],
    lastName: `O'Neill-${i}`,
    city: cities[i % cities.length],
    company: i % 3 === 0 ? 'Smith & Sons' : 'Northwind',
    jobTitle: 'buyer',
    lastProduct: products[i % products.length],
    totalSpent: (i % 997) * 3.5,
  }));
}

const segment = { name: 'loyal', index: 0, size: CONTACTS };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function rate(count: number, nanoseconds: bigint): number {
  return count / (Number(nanoseconds) / 1e9);
}

/** Best-effort isolation of each run from the previous one's garbage. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function benchLib(contacts: Record<string, unknown>[]): { lib: number; mustache: number; checksum: number } {
  const compiled = compileTemplate(template);
  Mustache.parse(template); // into mustache's cache, so it is parsed once too
  const plain = { escape: (value: unknown) => String(value) };
  const libRates: number[] = [];
  const mustacheRates: number[] = [];
  let checksum = 0;
  // One untimed pass each, so the runs measure optimised code rather than the JIT warming up.
  for (const contact of contacts.slice(0, 10_000)) {
    checksum += compiled.render({ contact, segment, msg: {} }).length;
    checksum += Mustache.render(template, { contact, segment, msg: {} }, undefined, plain).length;
  }
  for (let run = 0; run < RUNS; run++) {
    collectGarbage();
    let start = process.hrtime.bigint();
    for (const contact of contacts) checksum += compiled.render({ contact, segment, msg: {} }).length;
    libRates.push(rate(contacts.length, process.hrtime.bigint() - start));

    collectGarbage();
    start = process.hrtime.bigint();
    for (const contact of contacts) checksum += Mustache.render(template, { contact, segment, msg: {} }, undefined, plain).length;
    mustacheRates.push(rate(contacts.length, process.hrtime.bigint() - start));
  }
  return { lib: median(libRates), mustache: median(mustacheRates), checksum };
}

/**
 * A real Node-RED runtime in this process, with the package installed in a temporary user
 * dir, running three chains side by side: marketing-prompt, the core Template node given the
 * same job, and a junction (no work at all: the runtime's own cost per message).
 */
async function startRuntime(): Promise<{ red: NodeRedRuntime; userDir: string }> {
  const userDir = mkdtempSync(join(tmpdir(), 'bench-prompt-'));
  installPackageLink(userDir);
  const sink = (id: string, y: number) => ({ id, type: 'debug', z: 'tab', x: 400, y, active: false, tosidebar: false, console: false, complete: 'payload', wires: [] });
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'prompt', type: 'marketing-prompt', z: 'tab', x: 100, y: 100, template, segments: [], partials: [], missing: 'empty', maxValueLength: 500, wires: [['prompt-out']] },
    sink('prompt-out', 100),
    // The core node's context is the message itself, so {{contact.x}} reads the same values.
    { id: 'template', type: 'template', z: 'tab', x: 100, y: 200, field: 'prompt', fieldType: 'msg', syntax: 'mustache', output: 'str', format: 'handlebars',
      template: template.replace(/\{\{/g, '{{{').replace(/\}\}/g, '}}}'), wires: [['template-out']] },
    sink('template-out', 200),
    { id: 'junction', type: 'junction', z: 'tab', x: 100, y: 300, wires: [['junction-out']] },
    sink('junction-out', 300),
  ]));
  const red = createRequire(__filename)('node-red') as NodeRedRuntime;
  red.init(createServer(), {
    userDir, flowFile: 'flows.json', credentialSecret: false, httpAdminRoot: false, httpNodeRoot: false,
    logging: { console: { level: 'error' } },
  });
  const started = new Promise<void>((resolveStarted) => red.events.once('flows:started', () => resolveStarted()));
  await red.start();
  await started;
  return { red, userDir };
}

interface RuntimeNode {
  receive(msg: Record<string, unknown>): void;
  on(event: 'input', listener: () => void): void;
  removeListener(event: 'input', listener: () => void): void;
}

interface NodeRedRuntime {
  init(server: Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): RuntimeNode };
  events: { once(event: string, listener: () => void): void };
}

/** Sends every contact into `first` and waits until the last one reaches `last`. */
async function benchChain(red: NodeRedRuntime, first: string, last: string, contacts: Record<string, unknown>[]): Promise<number> {
  const input = red.nodes.getNode(first);
  const output = red.nodes.getNode(last);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    collectGarbage();
    let received = 0;
    const start = process.hrtime.bigint();
    await new Promise<void>((resolveRun) => {
      const count = () => {
        if (++received < contacts.length) return;
        output.removeListener('input', count);
        resolveRun();
      };
      output.on('input', count);
      for (const contact of contacts) input.receive({ contact, segment });
    });
    rates.push(rate(contacts.length, process.hrtime.bigint() - start));
  }
  return median(rates);
}

async function main(): Promise<void> {
  const contacts = makeContacts();
  const variables = compileTemplate(template).names.length;
  console.log(`marketing-prompt benchmark: ${CONTACTS.toLocaleString('en')} contacts, ` +
    `template of ${template.length} characters with ${variables} variables, median of ${RUNS} runs`);

  const { lib, mustache, checksum } = benchLib(contacts);
  console.log(`lib/ compileTemplate().render:   ${format(lib)} prompts/s`);
  console.log(`mustache.render, same template:  ${format(mustache)} prompts/s  (lib/ is ${(lib / mustache).toFixed(2)}x)  [checksum ${checksum}]`);
  console.log(`target >= 200,000 prompts/s in lib/: ${lib >= 200_000 ? 'met' : 'NOT met'}`);

  const { red, userDir } = await startRuntime();
  try {
    const node = await benchChain(red, 'prompt', 'prompt-out', contacts);
    const core = await benchChain(red, 'template', 'template-out', contacts);
    const bare = await benchChain(red, 'junction', 'junction-out', contacts);
    console.log(`Node-RED runtime, marketing-prompt node:       ${format(node)} prompts/s`);
    console.log(`Node-RED runtime, core Template node, same job: ${format(core)} prompts/s  (marketing-prompt is ${(node / core).toFixed(2)}x)`);
    console.log(`Node-RED runtime, junction (no work):           ${format(bare)} messages/s  (the runtime's own ceiling)`);
  } finally {
    await red.stop();
    rmSync(userDir, { recursive: true, force: true });
  }
}

function format(value: number): string {
  return Math.round(value).toLocaleString('en');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
