/**
 * The marketing-segment editor in a real Node-RED editor, in a real browser (Debian chromium
 * driven by playwright-core): the rule builder shows a saved rule tree, edits round-trip into
 * the node's configuration, and wires follow their segment when segments are removed.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const BROWSER_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** The node as the flow in the test imports it: two segments, a nested group, three wired outputs. */
const FLOW = [
  {
    id: 'seg1', type: 'marketing-segment', name: '', x: 300, y: 200, wires: [['d1'], ['d2'], ['d3']], outputs: 3,
    segments: [
      { name: 'VIP France', join: 'all', rules: [
        { field: 'country', op: 'eq', value: 'FR', valueType: 'str', ignoreCase: true },
        { join: 'any', rules: [
          { field: 'tags', op: 'hasTags', value: 'vip, newsletter', valueType: 'str', tagMatch: 'all' },
          { field: 'lastPurchaseDate', op: 'withinDays', value: '30', valueType: 'num' },
        ] },
      ] },
      { name: 'Lapsed', join: 'all', rules: [{ field: 'lastPurchaseDate', op: 'before', value: '2024-06-01', valueType: 'date' }] },
    ],
    matchMode: 'first', outputMode: 'each', notTargetedOutput: true, optOutField: 'unsubscribed', emailField: 'email', dedupe: true,
    rfm: false, rfmRecency: 'lastPurchaseDate', rfmFrequency: 'orders', rfmMonetary: 'totalSpent',
  },
  { id: 'd1', type: 'debug', x: 600, y: 140, wires: [] },
  { id: 'd2', type: 'debug', x: 600, y: 200, wires: [] },
  { id: 'd3', type: 'debug', x: 600, y: 260, wires: [] },
];

describe('marketing-segment editor', function () {
  this.timeout(60000);
  let server: ChildProcess;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    server = fork(join(__dirname, 'node-red-process.js'), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('message', (message) => resolve((message as { port: number }).port));
      server.once('exit', (code) => reject(new Error(`Node-RED exited with ${code}`)));
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => {
      const red = (window as unknown as { RED?: { nodes?: { getType?: (type: string) => unknown } } }).RED;
      return Boolean(red?.nodes?.getType?.('marketing-segment'));
    }, null, { timeout: 30000 });
  });

  after(async () => {
    await browser?.close();
    server?.disconnect();
  });

  it('is in the marketing palette category with its icon and help', async () => {
    const facts = await page.evaluate(() => {
      const RED = (window as unknown as { RED: { nodes: { getType(type: string): { category: string; icon: string } } } }).RED;
      const type = RED.nodes.getType('marketing-segment');
      const help = document.querySelector('script[data-help-name="marketing-segment"]')?.textContent ?? '';
      return { category: type.category, icon: type.icon, inputs: help.includes('Inputs'), outputs: help.includes('Outputs'), details: help.includes('Details') };
    });
    assert.deepEqual(facts, { category: 'marketing', icon: 'segment.svg', inputs: true, outputs: true, details: true });
  });

  it('shows a saved rule tree, saves edits, and keeps each wire on its segment', async () => {
    await page.evaluate((flow) => {
      const RED = (window as unknown as { RED: { view: { importNodes(f: object[], o: object): void }; editor: { edit(n: unknown): void };
        nodes: { node(id: string): unknown } } }).RED;
      RED.view.importNodes(flow, { generateIds: false });
      RED.editor.edit(RED.nodes.node('seg1'));
    }, FLOW);
    await page.waitForSelector('#node-input-segment-container .marketing-segment-condition');

    const shown = await page.evaluate(() => {
      const $ = (window as unknown as { $: (s: string | Element) => { length: number; val(): string; toArray(): Element[]; find(s: string): unknown } }).$;
      const conditions = $('#node-input-segment-container .marketing-segment-condition').toArray();
      const names = $('#node-input-segment-container .marketing-segment-name').toArray().map((e) => (e as HTMLInputElement).value);
      const joins = $('#node-input-segment-container .marketing-segment-group-header select').toArray().map((e) => (e as HTMLSelectElement).value);
      const ops = conditions.map((c) => (c.querySelector('select') as HTMLSelectElement).value);
      const ports = $('#node-input-segment-container .marketing-segment-port').toArray().map((e) => e.textContent);
      return { names, joins, ops, ports, notTargetedPort: document.getElementById('marketing-segment-nt-port')?.textContent };
    });
    assert.deepEqual(shown, {
      names: ['VIP France', 'Lapsed'],
      joins: ['all', 'any', 'all'],
      ops: ['eq', 'hasTags', 'withinDays', 'before'],
      ports: ['\u2192 1', '\u2192 2'],
      notTargetedPort: '\u2192 3',
    });

    // Edit as a user would: the nested group's first condition becomes "country is in list FR, BE",
    // a condition is added to it, the first segment is removed and a new one is added.
    // In a condition row, the field is the first TypedInput and the value the second.
    const typed = (condition: Locator, index: number) => condition.locator('.red-ui-typedInput-container').nth(index).locator('input.red-ui-typedInput-input');
    const nestedCondition = page.locator('#node-input-segment-container .marketing-segment-rules .marketing-segment-rules .marketing-segment-condition').first();
    await typed(nestedCondition, 0).fill('country');
    await nestedCondition.locator('select').first().selectOption('in');
    await typed(nestedCondition, 1).fill('FR, BE');
    const nestedGroup = page.locator('#node-input-segment-container .marketing-segment-rules .marketing-segment-group').first();
    await nestedGroup.locator('button', { hasText: 'condition' }).last().click();
    const added = nestedGroup.locator('.marketing-segment-condition').last();
    await typed(added, 0).fill('orders');
    await added.locator('select').first().selectOption('gte');
    await typed(added, 1).fill('3');

    const result = await page.evaluate(() => {
      const w = window as unknown as {
        $: (s: string) => { editableList(...args: unknown[]): ArrayLike<Element> & { data?: unknown }; trigger(e: string): void };
        jQuery: (e: Element) => { data(k: string): unknown };
        RED: { nodes: { node(id: string): { segments: { name: string; join: string; rules: unknown[] }[]; outputs: number };
          filterLinks(f: object): { sourcePort: unknown; target: { id: string } }[] } };
      };
      // Read the edited rules of the first segment through the same export the Done button uses.
      const items = w.$('#node-input-segment-container').editableList('items');
      const edited = (w.jQuery(items[0]).data('export') as () => unknown)();
      w.$('#node-input-segment-container').editableList('removeItem', w.jQuery(items[0]).data('data'));
      w.$('#node-input-segment-container').editableList('addItem', {});
      w.$('#node-dialog-ok').trigger('click');
      const node = w.RED.nodes.node('seg1');
      const links = w.RED.nodes.filterLinks({ source: node }).map((l) => [Number(l.sourcePort), l.target.id]).sort();
      return { edited, segments: node.segments, outputs: node.outputs, links };
    });
    assert.deepEqual(result.edited, {
      name: 'VIP France', join: 'all', rules: [
        { field: 'country', op: 'eq', value: 'FR', valueType: 'str', ignoreCase: true },
        { join: 'any', rules: [
          { field: 'country', op: 'in', value: 'FR, BE', valueType: 'str', ignoreCase: false },
          { field: 'lastPurchaseDate', op: 'withinDays', value: '30', valueType: 'num' },
          { field: 'orders', op: 'gte', value: '3', valueType: 'num' },
        ] },
      ],
    });
    assert.deepEqual(result.segments.map((s) => s.name), ['Lapsed', 'Segment 2']);
    assert.deepEqual(result.segments[0], FLOW[0].segments?.[1]);
    assert.equal(result.outputs, 3);
    // VIP France's wire is gone, Lapsed's moved up with it, not targeted is still last.
    assert.deepEqual(result.links, [[0, 'd2'], [2, 'd3']]);
    assert.deepEqual(pageErrors, []);
  });
});
