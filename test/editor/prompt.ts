/**
 * `marketing-prompt` in the suite's real Node-RED (the package installed in a user dir, admin
 * authentication on), driven over HTTP and through the real editor in Chromium: the
 * preview endpoint's permission check, its translations, and the edit dialog with its live
 * preview.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { saveScreenshot, type EditorPage, type EditorSession } from './session';

/** The suite's starting flows: a tab with an env variable, and the prompt node the dialog tests edit. */
export const PROMPT_FLOWS = [
  { id: 'tab1', type: 'tab', label: 'Campaign', env: [{ name: 'BRAND', value: 'Acme', type: 'str' }] },
  {
    id: 'p1', type: 'marketing-prompt', z: 'tab1', name: '', x: 200, y: 100, wires: [[]],
    template: 'Hello {{contact.firstName}} from {{env.BRAND}}',
    segments: [{ segment: 'vip', template: 'VIP {{contact.firstName}}: {{> brand}}' }],
    partials: [{ name: 'brand', template: '[{{env.BRAND}} voice]' }],
    missing: 'empty', maxValueLength: 500,
  },
];

function preview(url: string, token: string | undefined, body: unknown): Promise<Response> {
  return fetch(new URL('marketing-prompt/preview', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

export function describePrompt(session: EditorSession): void {
  describe('marketing-prompt with admin authentication', () => {
    describe('preview endpoint permission', () => {
      const body = { id: 'p1', settings: { template: 'Hi {{contact.firstName}} from {{env.BRAND}}' }, contact: '{"firstName":"Ann"}' };

      it('refuses a request without a token', async () => {
        assert.equal((await preview(session.url, undefined, body)).status, 401);
      });

      it('refuses a read-only user', async () => {
        const token = await session.tokenFor('viewer', 'read');
        assert.equal((await preview(session.url, token, body)).status, 401);
      });

      it('serves a user with write permission, with values from the deployed node', async () => {
        const token = await session.tokenFor('editor', '*');
        const res = await preview(session.url, token, body);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { prompt: 'Hi Ann from Acme', template: 'default', unresolved: [] });
      });
    });

    describe('translations', () => {
      for (const [language, inputs, templateLabel] of [['en-US', 'Inputs', 'Template'], ['zh-CN', '输入', '模板']] as const) {
        it(`serves the help (Inputs, Outputs, Details) and the labels in ${language}`, async () => {
          const headers = { authorization: `Bearer ${await session.tokenFor('viewer', 'read')}`, 'accept-language': language };
          const editorHtml = await (await fetch(new URL('nodes', session.url), { headers: { ...headers, accept: 'text/html' } })).text();
          const help = /<script type="text\/html" data-help-name="marketing-prompt">([\s\S]*?)<\/script>/.exec(editorHtml)?.[1] ?? '';
          assert.equal((help.match(/<h3>/g) ?? []).length, 3, 'three help sections');
          assert.ok(help.includes(`<h3>${inputs}</h3>`), `help in ${language}`);
          const catalog = await (await fetch(new URL(`locales/@smart-marketing/node-red-marketing-automation/marketing-prompt?lng=${language}`, session.url), { headers })).json() as {
            prompt: { label: { template: string } };
          };
          assert.equal(catalog.prompt.label.template, templateLabel);
        });
      }
    });

    describe('edit dialog', () => {
      let editor: EditorPage;
      let page: Page;

      before(async () => {
        editor = await session.openEditor();
        page = editor.page;
        await page.waitForFunction(() => {
          const RED = (window as unknown as { RED?: { nodes?: { node(id: string): unknown } } }).RED;
          return Boolean(RED?.nodes?.node('p1'));
        }, undefined, { timeout: 30000 });
      });
      after(async () => {
        await editor?.close();
      });

      it('previews the prompt of a pasted contact, per segment, live, and shows template errors', async () => {
        await page.evaluate(() => {
          const RED = (window as unknown as { RED: { editor: { edit(node: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
          RED.editor.edit(RED.nodes.node('p1'));
        });
        await page.locator('#marketing-prompt-tabs').waitFor();
        await page.waitForTimeout(500); // the edit tray slides in
        await saveScreenshot(page, 'prompt-template-tab');

        await page.locator('#red-ui-tab-marketing-prompt-tab-preview a').click();
        const output = page.locator('#marketing-prompt-output');
        await waitForText(output, 'Hello Ann from Acme');

        await page.evaluate(() => {
          const RED = (window as unknown as { RED: { nodes: { node(id: string): { sampleEditor: { setValue(v: string): void } } } } }).RED;
          RED.nodes.node('p1').sampleEditor.setValue('{"firstName": "Zoë & <Co>"}');
        });
        await waitForText(output, 'Hello Zoë & <Co> from Acme');

        await page.fill('#marketing-prompt-sample-segment', 'vip');
        await waitForText(output, 'VIP Zoë & <Co>: [Acme voice]');
        await saveScreenshot(page, 'prompt-preview-tab');

        await page.evaluate(() => {
          const RED = (window as unknown as { RED: { nodes: { node(id: string): { editor: { setValue(v: string): void } } } } }).RED;
          RED.nodes.node('p1').editor.setValue('Hello\n{{#contact.vip}}');
        });
        await page.fill('#marketing-prompt-sample-segment', '');
        await waitForText(output, 'Preview failed: Template error in default at line 2, column 1: section "contact.vip" is never closed with {{/contact.vip}}');
        assert.equal(await output.evaluate((el) => el.classList.contains('marketing-prompt-error')), true);
      });

      it('saves segment templates edited in the table', async () => {
        await page.evaluate(() => {
          const RED = (window as unknown as { RED: { nodes: { node(id: string): { editor: { setValue(v: string): void } } } } }).RED;
          RED.nodes.node('p1').editor.setValue('Hello {{contact.firstName}}');
        });
        await page.locator('#red-ui-tab-marketing-prompt-tab-segments a').click();
        await page.locator('#marketing-prompt-tab-segments .red-ui-editableList-addButton').click();
        const rows = page.locator('#node-input-segments-container li');
        await rows.nth(1).locator('.marketing-prompt-row-name').fill('lapsed');
        await rows.nth(1).locator('.marketing-prompt-row-template').fill('We miss you, {{contact.firstName}}');
        await saveScreenshot(page, 'prompt-segments-tab');
        await page.locator('#node-dialog-ok').click();
        await page.locator('#marketing-prompt-tabs').waitFor({ state: 'detached' });
        const saved = await page.evaluate(() => {
          const RED = (window as unknown as { RED: { nodes: { node(id: string): { template: string; segments: unknown } } } }).RED;
          const node = RED.nodes.node('p1');
          return { template: node.template, segments: node.segments };
        });
        assert.deepEqual(saved, {
          template: 'Hello {{contact.firstName}}',
          segments: [
            { segment: 'vip', template: 'VIP {{contact.firstName}}: {{> brand}}' },
            { segment: 'lapsed', template: 'We miss you, {{contact.firstName}}' },
          ],
        });
      });

      it('raises no script error in the page', () => {
        assert.deepEqual(editor.pageErrors, []);
      });
    });
  });
}

/** Waits for the preview to show `text` (it refreshes a moment after each change). */
async function waitForText(output: ReturnType<Page['locator']>, text: string): Promise<void> {
  await output.page().waitForFunction(
    (expected) => document.querySelector('#marketing-prompt-output')?.textContent === expected,
    text,
    { timeout: 10000 },
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}\npreview shows: ${JSON.stringify(await output.textContent())}, expected ${JSON.stringify(text)}`);
  });
}
