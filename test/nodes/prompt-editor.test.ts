/**
 * `marketing-prompt` in a real Node-RED (the package installed in a user dir, admin
 * authentication on), driven over HTTP and through the real editor in Chromium: the
 * preview endpoint's permission check, and the edit dialog with its live preview.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = resolve(__dirname, '..', '..', '..');
const screenshots = join(root, 'test-results');
// Node-RED checks passwords with its own bcrypt library: hash them with the same one.
const bcrypt = createRequire(require.resolve('@node-red/editor-api'))('bcryptjs') as { hashSync(text: string, rounds: number): string };

const users = { editor: 'editor-password', viewer: 'viewer-password' };

const flows = [
  { id: 'tab1', type: 'tab', label: 'Campaign', env: [{ name: 'BRAND', value: 'Acme', type: 'str' }] },
  {
    id: 'p1', type: 'marketing-prompt', z: 'tab1', name: '', x: 200, y: 100, wires: [[]],
    template: 'Hello {{contact.firstName}} from {{env.BRAND}}',
    segments: [{ segment: 'vip', template: 'VIP {{contact.firstName}}: {{> brand}}' }],
    partials: [{ name: 'brand', template: '[{{env.BRAND}} voice]' }],
    missing: 'empty', maxValueLength: 500,
  },
];

interface RunningNodeRed {
  url: string;
  process: ChildProcess;
  userDir: string;
}

async function startNodeRed(): Promise<RunningNodeRed> {
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-prompt-'));
  const link = join(userDir, 'node_modules', '@smart-marketing', 'node-red-marketing-automation');
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(root, link, 'dir');
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows));
  const settings = {
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    credentialSecret: false,
    logging: { console: { level: 'info' } },
    adminAuth: {
      type: 'credentials',
      users: [
        { username: 'editor', password: bcrypt.hashSync(users.editor, 4), permissions: '*' },
        { username: 'viewer', password: bcrypt.hashSync(users.viewer, 4), permissions: 'read' },
      ],
    },
    editorTheme: { tours: false },
    telemetry: { enabled: false },
  };
  writeFileSync(join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

  const red = join(dirname(require.resolve('node-red/package.json')), 'red.js');
  const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', join(userDir, 'settings.js'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolvePromise, reject) => {
    let output = '';
    let listening: string | undefined;
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      listening ??= /Server now running at (http:\/\/[^\s/]+)/.exec(output)?.[1];
      if (listening && output.includes('Started flows')) resolvePromise(listening);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`Node-RED exited (${code}):\n${output}`)));
  });
  return { url, process: child, userDir };
}

async function stopNodeRed(server: RunningNodeRed): Promise<void> {
  if (server.process.exitCode === null) {
    const exited = new Promise((resolvePromise) => server.process.once('exit', resolvePromise));
    server.process.kill('SIGTERM');
    await exited;
  }
  rmSync(server.userDir, { recursive: true, force: true });
}

async function tokenFor(url: string, username: keyof typeof users, scope: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: users[username] }),
  });
  assert.equal(res.status, 200, `login as ${username}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

function preview(url: string, token: string | undefined, body: unknown): Promise<Response> {
  return fetch(`${url}/marketing-prompt/preview`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

describe('marketing-prompt in a real Node-RED with admin authentication', function () {
  this.timeout(60000);
  let server: RunningNodeRed;

  before(async () => {
    server = await startNodeRed();
  });
  after(async () => {
    if (server) await stopNodeRed(server);
  });

  describe('preview endpoint permission', () => {
    const body = { id: 'p1', settings: { template: 'Hi {{contact.firstName}} from {{env.BRAND}}' }, contact: '{"firstName":"Ann"}' };

    it('refuses a request without a token', async () => {
      assert.equal((await preview(server.url, undefined, body)).status, 401);
    });

    it('refuses a read-only user', async () => {
      const token = await tokenFor(server.url, 'viewer', 'read');
      assert.equal((await preview(server.url, token, body)).status, 401);
    });

    it('serves a user with write permission, with values from the deployed node', async () => {
      const token = await tokenFor(server.url, 'editor', '*');
      const res = await preview(server.url, token, body);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { prompt: 'Hi Ann from Acme', template: 'default', unresolved: [] });
    });
  });

  describe('translations', () => {
    for (const [language, inputs, templateLabel] of [['en-US', 'Inputs', 'Template'], ['zh-CN', '输入', '模板']] as const) {
      it(`serves the help (Inputs, Outputs, Details) and the labels in ${language}`, async () => {
        const headers = { authorization: `Bearer ${await tokenFor(server.url, 'viewer', 'read')}`, 'accept-language': language };
        const editorHtml = await (await fetch(`${server.url}/nodes`, { headers: { ...headers, accept: 'text/html' } })).text();
        const help = /<script type="text\/html" data-help-name="marketing-prompt">([\s\S]*?)<\/script>/.exec(editorHtml)?.[1] ?? '';
        assert.equal((help.match(/<h3>/g) ?? []).length, 3, 'three help sections');
        assert.ok(help.includes(`<h3>${inputs}</h3>`), `help in ${language}`);
        const catalog = await (await fetch(`${server.url}/locales/@smart-marketing/node-red-marketing-automation/marketing-prompt?lng=${language}`, { headers })).json() as {
          prompt: { label: { template: string } };
        };
        assert.equal(catalog.prompt.label.template, templateLabel);
      });
    }
  });

  describe('edit dialog', () => {
    let browser: Browser;
    let page: Page;

    before(async () => {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync'],
      });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const token = await tokenFor(server.url, 'editor', '*');
      // The editor's own single-sign-on path: it stores the token and reloads.
      await page.goto(`${server.url}/?access_token=${token}`);
      await page.waitForFunction(() => {
        const RED = (window as unknown as { RED?: { nodes?: { node(id: string): unknown } } }).RED;
        return Boolean(RED?.nodes?.node('p1'));
      }, undefined, { timeout: 30000 });
      mkdirSync(screenshots, { recursive: true });
    });
    after(async () => {
      await browser?.close();
    });

    it('shows the node in the palette with its icon and label', async () => {
      const paletteNode = page.locator('.red-ui-palette-node[data-palette-type="marketing-prompt"]');
      await paletteNode.waitFor();
      await paletteNode.screenshot({ path: join(screenshots, 'prompt-palette.png') });
      assert.equal((await paletteNode.locator('.red-ui-palette-label').innerText()).trim(), 'prompt');
      assert.match(await paletteNode.locator('.red-ui-palette-icon').getAttribute('style') ?? '', /prompt\.svg/);
    });

    it('previews the prompt of a pasted contact, per segment, live, and shows template errors', async () => {
      await page.evaluate(() => {
        const RED = (window as unknown as { RED: { editor: { edit(node: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
        RED.editor.edit(RED.nodes.node('p1'));
      });
      await page.locator('#marketing-prompt-tabs').waitFor();
      await page.waitForTimeout(500); // the edit tray slides in
      await page.screenshot({ path: join(screenshots, 'prompt-template-tab.png') });

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
      await page.screenshot({ path: join(screenshots, 'prompt-preview-tab.png') });

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
      await page.screenshot({ path: join(screenshots, 'prompt-segments-tab.png') });
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
  });
});

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
