/**
 * The marketing-segment rule builder in the real editor: it shows a saved rule tree, edits
 * round-trip into the node's configuration, and wires follow their segment when segments
 * are removed. (Its palette entry, icon and help are checked with the other nodes'.)
 */
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { saveScreenshot, type EditorPage, type EditorSession } from './session';

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

export function describeSegmentRuleBuilder(session: EditorSession): void {
  describe('marketing-segment rule builder', () => {
    let editor: EditorPage;
    let page: Page;
    let pageErrors: string[];

    before(async () => {
      editor = await session.openEditor();
      page = editor.page;
      pageErrors = editor.pageErrors;
    });

    after(async () => {
      await editor?.close();
    });

    it('shows a saved rule tree, saves edits, and keeps each wire on its segment', async () => {
      await page.evaluate((flow) => {
        const RED = (window as unknown as { RED: { view: { importNodes(f: object[], o: object): void }; editor: { edit(n: unknown): void };
          nodes: { node(id: string): unknown } } }).RED;
        RED.view.importNodes(flow, { generateIds: false });
        RED.editor.edit(RED.nodes.node('seg1'));
      }, FLOW);
      await page.waitForSelector('#node-input-segment-container .marketing-segment-condition');
      await page.waitForTimeout(500); // the edit tray slides in
      await saveScreenshot(page, 'segment-rule-builder');

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
}
