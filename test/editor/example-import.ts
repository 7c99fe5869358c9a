/**
 * Example 1 as a user gets it: Menu > Import > Examples > the package > "01 - Campaign from
 * a contact list", then Deploy. The Admin API must then serve the example's nodes as
 * deployed, and in the editor no node may show an error status once the model is loaded.
 * Its workspace and its prompt's live preview are the README's screenshots.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PACKAGE_NAME, PACKAGE_ROOT } from '../support/package-link';
import { saveScreenshot, type EditorPage, type EditorSession } from './session';

export const EXAMPLE_01 = '01 - Campaign from a contact list';

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  [property: string]: unknown;
}

interface NodeStatus { fill?: string; shape?: string; text?: string }

interface WindowWithRED {
  RED: {
    nodes: {
      node(id: string): (FlowNode & { status?: NodeStatus }) | null;
      workspace(id: string): unknown;
    };
    view: { reveal(id: string): void };
  };
}

/** Closes the editor's notifications (a click closes one), so they cover nothing in a picture. */
async function closeNotifications(page: Page): Promise<void> {
  await page.evaluate(() => document.querySelectorAll<HTMLElement>('.red-ui-notification').forEach((notification) => notification.click()));
  await page.waitForFunction(() => document.querySelectorAll('.red-ui-notification').length === 0);
}

export function describeExampleImport(session: EditorSession): void {
  describe(`example "${EXAMPLE_01}" imported from the menu and deployed`, () => {
    const example = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'examples', `${EXAMPLE_01}.json`), 'utf8')) as FlowNode[];
    const tab = example.find((node) => node.type === 'tab') as FlowNode;
    const nodeOfType = (type: string) => example.find((node) => node.type === type) as FlowNode;
    let editor: EditorPage;
    let page: Page;

    before(async () => {
      // Twice the pixels of the 1280x800 page: the README's pictures stay sharp when zoomed.
      editor = await session.openEditor('en-US', { deviceScaleFactor: 2 });
      page = editor.page;
    });
    after(async () => {
      await editor?.close();
    });

    it('imports the example through Menu > Import > Examples into a flow of its own', async () => {
      await page.locator('#red-ui-header-button-sidemenu').click();
      await page.locator('#menu-item-import').click();
      await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a').click();
      const examples = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
      await examples.locator('.red-ui-treeList-label-text', { hasText: PACKAGE_NAME }).click();
      await examples.locator('.red-ui-treeList-label-text', { hasText: EXAMPLE_01 }).click();
      await saveScreenshot(page, 'example-01-import-dialog');
      await page.locator('#red-ui-clipboard-dialog-ok').click();

      await page.waitForFunction((id) => Boolean((window as unknown as WindowWithRED).RED.nodes.workspace(id)), tab.id);
      await page.locator(`#red-ui-tab-${tab.id} a`).click();
      const imported = await page.evaluate((ids) => ids.filter((id) => !(window as unknown as WindowWithRED).RED.nodes.node(id)),
        example.filter((node) => node.type !== 'tab').map((node) => node.id));
      assert.deepEqual(imported, [], 'every node of the example is in the workspace, under its own id');
    });

    it('deploys it with the Deploy button: the Admin API serves every node of the example', async () => {
      const mark = session.nodeRed.output().length;
      await page.locator('#red-ui-header-button-deploy').click();
      await page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).waitFor();
      await session.nodeRed.waitForOutput(/Started flows/, mark);

      const response = await fetch(new URL('flows', session.url), {
        headers: { authorization: `Bearer ${await session.tokenFor('viewer', 'read')}`, 'Node-RED-API-Version': 'v2' },
      });
      assert.equal(response.status, 200);
      const deployed = new Map(((await response.json()) as { flows: FlowNode[] }).flows.map((node) => [node.id, node]));
      for (const node of example) {
        const served = deployed.get(node.id);
        assert.ok(served, `${node.type} "${node.name ?? node.label}" is deployed`);
        // Everything the example sets, as the example sets it. The editor adds fields of its own,
        // and leaves out an empty description (info).
        const sets = Object.keys(node).filter((key) => !(key === 'info' && node.info === ''));
        assert.deepEqual(Object.fromEntries(sets.map((key) => [key, served[key]])), Object.fromEntries(sets.map((key) => [key, node[key]])),
          `${node.type} ${node.id}`);
      }
    });

    it('runs with no error status: the model loads, the outbox is ready, the runtime logs no error', async () => {
      const generator = nodeOfType('marketing-generate-text');
      // The bundled model loads at deploy; its node turns green when it is ready.
      await page.waitForFunction((id) => (window as unknown as WindowWithRED).RED.nodes.node(id)?.status?.fill === 'green',
        generator.id, { timeout: 60000 });
      const statuses = await page.evaluate((ids) => Object.fromEntries(ids.map((id) =>
        [id, (window as unknown as WindowWithRED).RED.nodes.node(id)?.status ?? null])), example.map((node) => node.id));
      const failing = Object.entries(statuses).filter(([, status]) => status?.fill === 'red');
      assert.deepEqual(failing, []);
      assert.equal(statuses[generator.id]?.text, 'ready');
      assert.match(statuses[nodeOfType('marketing-send-email').id]?.text ?? '', /^ready: .*outbox$/);
      assert.equal(await page.locator('#red-ui-workspace-chart [class*="red-ui-flow-node-status-"][class*="-red"]').count(), 0,
        'no red status drawn in the workspace');
      assert.doesNotMatch(session.nodeRed.output(), /\[error\]/);

      await saveScreenshot(page, 'example-01-deployed');
      // The README's picture: the whole campaign in the workspace, palette and sidebar hidden.
      await closeNotifications(page);
      await page.evaluate(() => {
        const RED = (window as unknown as { RED: { actions: { invoke(action: string, state?: boolean): void } } }).RED;
        RED.actions.invoke('core:toggle-palette', false);
        RED.actions.invoke('core:toggle-sidebar', false);
      });
      for (let step = 0; step < 5; step++) await page.locator('#red-ui-view-zoom-out').click();
      await page.locator('#red-ui-workspace-chart').evaluate((chart) => chart.scrollTo(0, 0));
      await page.mouse.move(5, 790); // no hover highlight or tooltip on the picture
      await saveScreenshot(page, 'example-01-flow', 'campaign-flow', { x: 0, y: 0, width: 1280, height: 395 });
      await page.locator('#red-ui-view-zoom-zero').click();
      await page.evaluate(() => {
        const RED = (window as unknown as { RED: { actions: { invoke(action: string, state?: boolean): void } } }).RED;
        RED.actions.invoke('core:toggle-palette', true);
        RED.actions.invoke('core:toggle-sidebar', true);
      });
    });

    it('previews the example\'s prompts (default and per segment) for the sample contact in the prompt dialog', async () => {
      const prompt = nodeOfType('marketing-prompt');
      // Scrolled into view first: after the zoom changes of the picture above, the node can be
      // outside the visible part of the workspace, where the editor does not draw it.
      await page.evaluate((id) => (window as unknown as WindowWithRED).RED.view.reveal(id), prompt.id);
      await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${prompt.id}"]`).dblclick();
      await page.locator('#red-ui-tab-marketing-prompt-tab-preview a').click();
      const output = page.locator('#marketing-prompt-output');
      await page.waitForFunction(() => (document.querySelector('#marketing-prompt-output')?.textContent ?? '') !== '');
      // BRAND from the deployed flow's environment; no msg.offer in the preview's message, so no offer.
      assert.equal(await output.textContent(), 'Write a short email from Example Shop to Ann in Lyon. Offer: none.\nHi Ann,');
      // The segment's own template, as a contact of that segment gets it.
      await page.fill('#marketing-prompt-sample-segment', 'loyal');
      await page.waitForFunction((expected) => document.querySelector('#marketing-prompt-output')?.textContent === expected,
        'Write a short thank-you email from Example Shop to Ann, a loyal customer in Lyon. Offer: none.\nHi Ann,');
      assert.equal(await output.evaluate((element) => element.classList.contains('marketing-prompt-error')), false);
      await page.locator('.red-ui-tray-footer-left button:has(i.fa-book)').click();
      await page.locator('.red-ui-sidebar-help-stack .red-ui-help').first().waitFor({ state: 'visible' });
      await page.mouse.move(5, 790);
      await closeNotifications(page);
      await saveScreenshot(page, 'example-01-prompt-preview', 'prompt-preview');
      await page.locator('#node-dialog-cancel').click();
    });

    it('raises no script error in the page', () => {
      assert.deepEqual(editor.pageErrors, []);
    });
  });
}
