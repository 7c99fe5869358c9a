/**
 * What the editor suite shares: one real Node-RED process (this package linked into its user
 * dir, admin authentication on with a read-write and a read-only user) and one Chromium. Each
 * part of the suite opens its own editor page in its own browser context (language, storage),
 * so parts do not see each other's unsaved edits, and the whole suite starts one of each.
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { PACKAGE_ROOT } from '../support/package-link';

// Node-RED checks passwords with its own bcrypt library: hash them with the same one.
const bcrypt = createRequire(require.resolve('@node-red/editor-api'))('bcryptjs') as { hashSync(text: string, rounds: number): string };

export const USERS = { editor: 'editor-password', viewer: 'viewer-password' };

/** The size of every page; the README's screenshots are this page at device scale 2. */
export const VIEWPORT = { width: 1280, height: 800 };

export const ARTEFACTS_DIR = join(PACKAGE_ROOT, 'test-results', 'editor');
export const DOCS_IMAGES_DIR = join(PACKAGE_ROOT, 'docs', 'images');

export interface EditorPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught script errors of the page so far. */
  pageErrors: string[];
  /** HTTP status of each path the page loaded (the last answer per path). */
  responses: Map<string, number>;
  close(): Promise<void>;
}

export class EditorSession {
  private red?: RunningNodeRed;
  private userDir?: string;
  private chromium?: Browser;

  /** Base URL of the editor and the Admin API, with a trailing slash. */
  get url(): string {
    if (!this.red) throw new Error('the editor session is not started');
    return this.red.url;
  }

  get nodeRed(): RunningNodeRed {
    if (!this.red) throw new Error('the editor session is not started');
    return this.red;
  }

  async start(flows: unknown[]): Promise<void> {
    this.userDir = mkdtempSync(join(tmpdir(), 'marketing-editor-'));
    this.red = await startNodeRed({
      userDir: this.userDir,
      linkPackage: true,
      flows,
      settings: {
        credentialSecret: false,
        logging: { console: { level: 'info' } },
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'editor', password: bcrypt.hashSync(USERS.editor, 4), permissions: '*' },
            { username: 'viewer', password: bcrypt.hashSync(USERS.viewer, 4), permissions: 'read' },
          ],
        },
        editorTheme: { tours: false },
        telemetry: { enabled: false, updateNotification: false },
      },
    });
    await this.red.waitForOutput(/Started flows/);
    this.chromium = await launchChromium();
    mkdirSync(ARTEFACTS_DIR, { recursive: true });
  }

  async stop(): Promise<void> {
    await this.chromium?.close();
    await this.red?.stop();
    if (this.userDir) rmSync(this.userDir, { recursive: true, force: true });
  }

  /** An Admin API access token, as the editor's login form gets it. */
  async tokenFor(username: keyof typeof USERS, scope: string): Promise<string> {
    const res = await fetch(new URL('auth/token', this.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: USERS[username] }),
    });
    if (res.status !== 200) throw new Error(`login as ${username}: HTTP ${res.status}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /**
   * The editor, logged in as the read-write user, in a browser context whose language is
   * `locale` (navigator.language and Accept-Language, which the editor's i18n follows), once
   * the package's node types and the deployed flows are loaded.
   */
  async openEditor(locale = 'en-US', options: { deviceScaleFactor?: number } = {}): Promise<EditorPage> {
    if (!this.chromium) throw new Error('the editor session is not started');
    const context = await this.chromium.newContext({ locale, viewport: VIEWPORT, deviceScaleFactor: options.deviceScaleFactor });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const responses = new Map<string, number>();
    page.on('response', (response) => responses.set(new URL(response.url()).pathname, response.status()));
    const token = await this.tokenFor('editor', '*');
    // The editor's own single-sign-on path: it stores the token and reloads.
    await page.goto(`${this.url}?access_token=${token}`);
    await page.waitForFunction(() => {
      const RED = (window as unknown as { RED?: { nodes?: { getType?(type: string): unknown; version?(): unknown } } }).RED;
      return Boolean(RED?.nodes?.getType?.('marketing-send-email') && RED.nodes.version?.());
    }, undefined, { timeout: 30000 });
    await page.locator('#red-ui-palette-container-marketing').waitFor();
    return { page, context, pageErrors, responses, close: () => context.close() };
  }
}

/**
 * Saves a screenshot as a test artefact under test-results/editor/. With `docsName`, and
 * only when UPDATE_DOCS_IMAGES=1 (`npm run docs:images`), it also replaces the committed
 * docs/images/<docsName>.png, so ordinary test runs never rewrite committed files.
 */
export async function saveScreenshot(target: Page | Locator, name: string, docsName?: string,
  clip?: { x: number; y: number; width: number; height: number }): Promise<void> {
  const image = await target.screenshot({ path: join(ARTEFACTS_DIR, `${name}.png`), ...(clip ? { clip } : {}) });
  if (docsName && process.env.UPDATE_DOCS_IMAGES === '1') {
    mkdirSync(DOCS_IMAGES_DIR, { recursive: true });
    writeFileSync(join(DOCS_IMAGES_DIR, `${docsName}.png`), image);
  }
}
