/**
 * The palette and every node's edit dialog, as a user meets them, in English and in Chinese:
 * the `marketing` category with the four nodes, their icons (served by Node-RED from the
 * package and drawn in the palette) and labels; each node dragged from the palette and
 * double-clicked, each config node added from the dialog that uses it; the dialogs' key
 * fields with their defaults, every label from the package's locale files, and the help
 * (Inputs, Outputs, Details) shown in the sidebar by the dialog's help button.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { PACKAGE_NAME, PACKAGE_ROOT } from '../support/package-link';
import { catalog, firstHelpParagraph, HELP_HEADINGS, type Language } from './catalogs';
import { saveScreenshot, type EditorPage, type EditorSession } from './session';

/** A field's value in the dialog: text of an input or select, or a checkbox's state. */
type FieldValue = string | boolean;

interface DialogSpec {
  type: string;
  /** nodes/<dir>: its locale files, its catalog's top key and its icon's name. */
  dir: string;
  /** A config node is added from this palette node's dialog, with the "+" button of `property`. */
  addedFrom?: { type: string; property: string };
  paletteLabelKey?: string;
  /** Key fields (ids without the node-input- / node-config-input- prefix) and their defaults. */
  defaults: Record<string, FieldValue>;
  /** Fields the dialog shows at first; `hidden` ones belong to options not chosen by default. */
  visible: string[];
  hidden?: string[];
  /** Texts the dialog's script writes (not data-i18n): selector -> catalog key. */
  texts?: Record<string, string>;
}

const PALETTE_NODES: DialogSpec[] = [
  {
    type: 'marketing-segment', dir: 'segment', paletteLabelKey: 'segment.paletteLabel',
    defaults: { name: '', matchMode: 'first', outputMode: 'each', optOutField: 'unsubscribed', emailField: 'email',
      dedupe: true, notTargetedOutput: true, rfm: false },
    visible: ['name', 'matchMode', 'outputMode', 'optOutField', 'emailField', 'dedupe', 'notTargetedOutput', 'rfm', 'segment-container'],
    texts: { '.red-ui-editableList-addButton': 'segment.label.addSegment' },
  },
  {
    type: 'marketing-prompt', dir: 'prompt', paletteLabelKey: 'prompt.prompt',
    defaults: { name: '', missing: 'empty', maxValueLength: '500',
      template: 'Write a short, friendly email to {{contact.firstName}} in {{contact.city}} about {{contact.lastProduct}}.' },
    visible: ['name', 'template-editor', 'missing', 'maxValueLength'],
    texts: {
      '#red-ui-tab-marketing-prompt-tab-template .red-ui-tab-label': 'prompt.label.template',
      '#red-ui-tab-marketing-prompt-tab-segments .red-ui-tab-label': 'prompt.label.segments',
      '#red-ui-tab-marketing-prompt-tab-partials .red-ui-tab-label': 'prompt.label.partials',
      '#red-ui-tab-marketing-prompt-tab-preview .red-ui-tab-label': 'prompt.label.preview',
    },
  },
  {
    type: 'marketing-generate-text', dir: 'generate-text', paletteLabelKey: 'generate-text.generate-text',
    defaults: { name: '', lengthMode: 'new', max_new_tokens: '60', min_new_tokens: '0', max_length: '', min_length: '', do_sample: true,
      temperature: '1', top_k: '50', top_p: '0.95', num_return_sequences: '1', seed: '', repetition_penalty: '1', no_repeat_ngram_size: '0',
      return_full_text: false, cut_at_sentence_end: false, 'truncate_prompt-select': 'truncate', maxQueue: '10000', timeout: '60' },
    visible: ['name', 'llm', 'lengthMode', 'max_new_tokens', 'do_sample', 'temperature', 'top_k', 'top_p', 'seed', 'truncate_prompt-select', 'timeout'],
    // The total length (Hugging Face's max_length) waits for its length mode.
    hidden: ['max_length', 'min_length'],
  },
  {
    type: 'marketing-check', dir: 'check', paletteLabelKey: 'check.check',
    defaults: { name: '', greeting: true, nameFields: 'firstName, name', language: true, languageField: 'language', undeterminedLanguage: 'warn',
      offers: true, allowedOffers: '', segmentOffers: '', brandCheck: true, brand: '', otherBrands: '', banned: true, bannedPhrases: '',
      clean: true, minLength: '', maxLength: '', targetLength: '', lengthUnit: 'characters', repeatWords: '4',
      custom: false, customPattern: '', customMode: 'mustNot', customIgnoreCase: false },
    visible: ['name', 'greeting', 'nameFields', 'language', 'languageField', 'offers', 'allowedOffers', 'brandCheck', 'brand', 'banned',
      'bannedPhrases', 'clean', 'minLength', 'maxLength', 'custom', 'customPattern'],
  },
  {
    type: 'marketing-send-email', dir: 'send-email', paletteLabelKey: 'send-email.paletteLabel',
    defaults: { name: '', campaign: '', from: '', fromName: '', replyTo: '', recipientField: 'email', nameField: 'name', subject: '',
      unsubscribeUrl: '', optOutField: 'unsubscribed', ledger: true, afterInterruption: 'skip', retries: '4', retryWindow: '600',
      retryDelay: '2', maxSize: '2048', text: '{{payload}}', html: '' },
    // The Message tab is open; the delivery options wait on the Delivery tab.
    visible: ['name', 'smtp', 'campaign', 'from', 'fromName', 'recipientField', 'subject'],
    hidden: ['ledger', 'retries', 'maxSize'],
    texts: {
      '#red-ui-tab-marketing-send-email-tab-message .red-ui-tab-label': 'send-email.tabs.message',
      '#red-ui-tab-marketing-send-email-tab-delivery .red-ui-tab-label': 'send-email.tabs.delivery',
    },
  },
  {
    type: 'marketing-suppress', dir: 'suppress', paletteLabelKey: 'suppress.paletteLabel',
    defaults: { name: '', getAction: 'confirm', language: 'en', rateLimit: '20', softBounceLimit: '3', bounces: 'known' },
    visible: ['name', 'smtp', 'getAction', 'language', 'rateLimit', 'softBounceLimit', 'bounces'],
  },
];

const CONFIG_NODES: DialogSpec[] = [
  {
    type: 'marketing-llm', dir: 'llm', addedFrom: { type: 'marketing-generate-text', property: 'llm' },
    defaults: { name: '', backend: 'local', source: 'bundled', quantized: true, allowDownloads: true, loadAt: 'deploy', batchRows: '1',
      maxInFlight: '4', endpoint: 'completions', extraFields: 'vllm', baseUrl: '', serverModel: '' },
    visible: ['name', 'backend', 'source', 'loadAt'],
    hidden: ['folder', 'model', 'baseUrl', 'apiKey', 'serverModel'],
  },
  {
    type: 'marketing-smtp', dir: 'smtp', addedFrom: { type: 'marketing-send-email', property: 'smtp' },
    // A config node added from a dialog gets only its truthy defaults (Node-RED 4's editor, "_ADD_"):
    // the rate limit 0 shows as an empty field, which the runtime reads as 0 (no limit).
    defaults: { name: '', transport: 'outbox', outbox: '', host: '', port: '587', security: 'starttls', rejectUnauthorized: true,
      maxConnections: '5', rateLimit: '', timeout: '30', dataTimeout: '600', probeInterval: '10' },
    visible: ['name', 'transport', 'outbox'],
    hidden: ['host', 'port', 'user', 'password'],
  },
];

interface WindowWithRED {
  RED: {
    nodes: {
      getType(type: string): { category: string; icon: string };
      filterNodes(filter: { type: string }): { id: string }[];
    };
  };
}

/**
 * The topmost edit tray. A config node's dialog stacks on the dialog it was opened from; the
 * editor takes the one below out of the page until the one on top closes.
 */
function topTray(page: Page): Locator {
  return page.locator('.red-ui-editor .red-ui-tray').last();
}

/** The palette with only the marketing category open, as a user tidies it to find the nodes. */
async function openMarketingCategory(page: Page): Promise<Locator> {
  await page.locator('#red-ui-palette .red-ui-component-footer button:has(i.fa-angle-double-up)').click();
  await page.locator('#red-ui-palette-header-marketing').click();
  const category = page.locator('#red-ui-palette-base-category-marketing');
  await category.locator('.red-ui-palette-node').last().waitFor({ state: 'visible' });
  await page.waitForFunction(() => !(window as unknown as { $: (s: string) => { is(s: string): boolean } })
    .$('#red-ui-palette-base-category-marketing').is(':animated'));
  return category;
}

/** Drags `type` from the palette onto the workspace and opens its dialog with a double click. */
async function dragAndEdit(page: Page, type: string, at: { x: number; y: number }): Promise<void> {
  const before = await nodeIds(page, type);
  const box = await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).boundingBox();
  assert.ok(box, `${type} is in the palette`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(at.x, at.y, { steps: 12 });
  await page.mouse.up();
  const added = (await nodeIds(page, type)).filter((id) => !before.includes(id));
  assert.equal(added.length, 1, `one ${type} dropped on the workspace`);
  await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${added[0]}"]`).dblclick();
  await topTray(page).locator('.red-ui-tray-footer').waitFor();
}

function nodeIds(page: Page, type: string): Promise<string[]> {
  return page.evaluate((t) => (window as unknown as WindowWithRED).RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
}

/** Values of the dialog's fields: checkbox state, else the input's or select's value. */
function fieldValues(tray: Locator, prefix: string, ids: string[]): Promise<Record<string, FieldValue>> {
  return tray.evaluate((root, args) => Object.fromEntries(args.ids.map((id) => {
    const field = root.querySelector(`#${args.prefix}${id}`) as HTMLInputElement | null;
    if (!field) return [id, '(missing)'];
    return [id, field.type === 'checkbox' ? field.checked : field.value];
  })), { prefix, ids });
}

/**
 * Checks every data-i18n text of the dialog against the package's catalog; returns how many
 * were checked. Node-RED prefixes each key of a node's template with its node set's namespace.
 */
async function checkDataI18n(tray: Locator, spec: DialogSpec, language: Language): Promise<number> {
  const messages = catalog(spec.dir, language);
  const namespace = `${PACKAGE_NAME}/${spec.type}`;
  const shown = await tray.evaluate((root, ns) => Array.from(root.querySelectorAll('[data-i18n]')).flatMap((element) =>
    (element.getAttribute('data-i18n') ?? '').split(';').map((part: string) => {
      const [, attribute, key] = /^(?:\[([^\]]+)\])?(.*)$/.exec(part) ?? [];
      const text = attribute === undefined ? element.textContent?.trim() : attribute === 'html' ? element.innerHTML : element.getAttribute(attribute);
      return { key, text };
    })).filter((entry) => entry.key.startsWith(`${ns}:`)), namespace);
  for (const { key, text } of shown) {
    const bare = key.slice(namespace.length + 1);
    assert.equal(text, messages(bare), `${spec.type} dialog, ${language}: ${bare}`);
  }
  return shown.length;
}

/** Opens the sidebar help with the dialog's help button and reads it. */
async function dialogHelp(page: Page): Promise<{ title: string; headings: string[]; text: string }> {
  await topTray(page).locator('.red-ui-tray-footer-left button:has(i.fa-book)').click();
  const help = page.locator('.red-ui-sidebar-help-stack .red-ui-help').first();
  await help.waitFor({ state: 'visible' });
  return {
    title: (await page.locator('.red-ui-sidebar-help-stack .red-ui-help-title').first().innerText()).trim(),
    headings: (await help.locator('h3').allInnerTexts()).map((heading) => heading.trim()),
    text: ((await help.textContent()) ?? '').replace(/\s+/g, ' '),
  };
}

async function checkDialog(page: Page, spec: DialogSpec, language: Language): Promise<void> {
  const tray = topTray(page);
  const prefix = spec.addedFrom ? 'node-config-input-' : 'node-input-';
  const messages = catalog(spec.dir, language);

  // Let the tray finish sliding in and the dialog's script lay out its fields.
  await page.waitForTimeout(400);
  await saveScreenshot(page, `dialog-${spec.dir}-${language}`);

  const defaults = await fieldValues(tray, prefix, Object.keys(spec.defaults));
  assert.deepEqual(defaults, spec.defaults, `${spec.type} dialog defaults`);
  for (const id of spec.visible) {
    assert.ok(await tray.locator(`#${prefix}${id}`).isVisible(), `${spec.type}: ${id} is shown`);
  }
  for (const id of spec.hidden ?? []) {
    assert.equal(await tray.locator(`#${prefix}${id}`).count(), 1, `${spec.type}: ${id} is in the dialog`);
    assert.equal(await tray.locator(`#${prefix}${id}`).isVisible(), false, `${spec.type}: ${id} waits for its option`);
  }
  assert.ok(await checkDataI18n(tray, spec, language) >= 3, `${spec.type}: its labels come from its catalog`);
  for (const [selector, key] of Object.entries(spec.texts ?? {})) {
    assert.equal((await tray.locator(selector).last().innerText()).trim(), messages(key), `${spec.type}: ${selector}`);
  }

  const help = await dialogHelp(page);
  assert.deepEqual(help.headings, HELP_HEADINGS[language], `${spec.type} help sections in ${language}`);
  assert.ok(help.text.includes(firstHelpParagraph(spec.dir, spec.type, language)), `${spec.type} help comes from locales/${language}`);
  if (spec.paletteLabelKey) assert.equal(help.title, messages(spec.paletteLabelKey));
  await saveScreenshot(page, `dialog-${spec.dir}-${language}-help`);
}

/** Cancels every open dialog, so that a failed test leaves the workspace free for the next. */
async function closeDialogs(page: Page): Promise<void> {
  while (await page.locator('.red-ui-editor .red-ui-tray').count() > 0) await cancelDialog(page);
}

/** Cancels the topmost dialog; the editor keeps only the topmost tray in the page. */
async function cancelDialog(page: Page): Promise<void> {
  const tray = await topTray(page).elementHandle();
  await topTray(page).locator('#node-dialog-cancel, #node-config-dialog-cancel').click();
  await page.waitForFunction((element) => !element?.isConnected, tray);
}

export function describePaletteAndDialogs(session: EditorSession): void {
  for (const language of ['en-US', 'zh-CN'] as const) {
    describe(`palette and edit dialogs, browser language ${language}`, () => {
      let editor: EditorPage;
      let page: Page;

      before(async () => {
        editor = await session.openEditor(language);
        page = editor.page;
      });
      afterEach(async () => {
        await closeDialogs(page);
      });
      after(async () => {
        await editor?.close();
      });

      it('shows the marketing category with the five nodes, their labels and icons', async () => {
        assert.equal(await page.evaluate(() => (window as unknown as { RED: { i18n: { lang(): string } } }).RED.i18n.lang()), language);
        const category = await openMarketingCategory(page);
        assert.equal((await page.locator('#red-ui-palette-header-marketing').innerText()).trim(), 'marketing');
        await saveScreenshot(page.locator('#red-ui-palette-container-marketing'), `palette-${language}`);

        const nodes = await category.locator('.red-ui-palette-node').evaluateAll((elements) => elements.map((element) => ({
          type: element.getAttribute('data-palette-type'),
          label: (element.querySelector('.red-ui-palette-label') as HTMLElement).innerText.replace(/\s+/g, ' ').trim(),
          icon: /url\("?([^")]+)"?\)/.exec((element.querySelector('.red-ui-palette-icon') as HTMLElement).style.backgroundImage)?.[1],
        })));
        assert.deepEqual(nodes.map((node) => node.type), PALETTE_NODES.map((spec) => spec.type));

        for (const spec of PALETTE_NODES) {
          const node = nodes.find((n) => n.type === spec.type);
          assert.equal(node?.label, catalog(spec.dir, language)(spec.paletteLabelKey ?? ''), `${spec.type} palette label`);
          const iconPath = `icons/${PACKAGE_NAME}/${spec.dir}.svg`;
          assert.equal(node?.icon, iconPath, `${spec.type} palette icon`);

          // Node-RED serves the package's own SVG for it...
          const served = await fetch(new URL(iconPath, session.url));
          assert.equal(served.status, 200, `${iconPath} answers`);
          assert.match(served.headers.get('content-type') ?? '', /^image\/svg\+xml/);
          assert.equal(await served.text(), readFileSync(join(PACKAGE_ROOT, 'icons', `${spec.dir}.svg`), 'utf8'));
          // ...the editor fetched it, and the browser draws it.
          assert.equal(editor.responses.get(new URL(iconPath, session.url).pathname), 200, `the editor loaded ${iconPath}`);
          const drawn = await page.evaluate(async (src) => {
            const image = new Image();
            image.src = src;
            await image.decode();
            return { width: image.naturalWidth, height: image.naturalHeight };
          }, iconPath);
          assert.ok(drawn.width > 0 && drawn.height > 0, `${iconPath} decodes as an image (${JSON.stringify(drawn)})`);
        }
      });

      it('registers each node in the marketing category with its icon and its help (Inputs, Outputs, Details)', async () => {
        for (const spec of PALETTE_NODES) {
          const facts = await page.evaluate((type) => {
            const RED = (window as unknown as WindowWithRED).RED;
            const def = RED.nodes.getType(type);
            const help = document.querySelector(`script[data-help-name="${type}"]`)?.textContent ?? '';
            return { category: def.category, icon: def.icon, help };
          }, spec.type);
          assert.equal(facts.category, 'marketing');
          assert.equal(facts.icon, `${spec.dir}.svg`);
          for (const heading of HELP_HEADINGS[language]) assert.ok(facts.help.includes(heading), `${spec.type} help: ${heading}`);
        }
      });

      if (language === 'zh-CN') {
        it('draws Chinese text with a CJK font (distinct glyphs, not the same missing-glyph box)', async () => {
          const [input, output] = await page.evaluate((texts) => texts.map((text) => {
            const canvas = document.createElement('canvas');
            canvas.width = 64;
            canvas.height = 64;
            const context = canvas.getContext('2d') as CanvasRenderingContext2D;
            context.font = `48px ${getComputedStyle(document.body).fontFamily}`;
            context.fillText(text, 0, 52);
            return canvas.toDataURL();
          }), ['输', '出']);
          assert.notEqual(input, output);
        });
      }

      PALETTE_NODES.forEach((spec, index) => {
        it(`opens the ${spec.type} dialog dragged from the palette, with its fields, labels and help`, async () => {
          await dragAndEdit(page, spec.type, { x: 320 + 160 * (index % 2), y: 140 + 80 * index });
          await checkDialog(page, spec, language);
          await cancelDialog(page);
        });
      });

      if (language === 'en-US') {
        it("switches the marketing-generate-text dialog to a total length (Hugging Face's max_length) and saves it", async () => {
          const before = await nodeIds(page, 'marketing-generate-text');
          await dragAndEdit(page, 'marketing-generate-text', { x: 480, y: 560 });
          const [id] = (await nodeIds(page, 'marketing-generate-text')).filter((nodeId) => !before.includes(nodeId));
          const tray = topTray(page);
          await tray.locator('#node-input-lengthMode').selectOption('total');
          assert.equal(await tray.locator('#node-input-max_new_tokens').isVisible(), false);
          assert.ok(await tray.locator('#node-input-max_length').isVisible());
          assert.ok(await tray.locator('#node-input-min_length').isVisible());
          assert.equal((await tray.locator('.marketing-generate-text-tip.marketing-generate-text-length-total').innerText()).trim(),
            catalog('generate-text', language)('generate-text.tip.lengthTotal'));
          // A total length is required in this mode.
          await tray.locator('#node-input-max_length').fill('');
          await page.waitForFunction(() => document.querySelector('#node-input-max_length')?.classList.contains('input-error'));
          await tray.locator('#node-input-max_length').pressSequentially('100'); // keyup: the editor validates again
          await page.waitForFunction(() => !document.querySelector('#node-input-max_length')?.classList.contains('input-error'));
          await saveScreenshot(page, 'dialog-generate-text-total-length');
          await tray.locator('#node-dialog-ok').click();
          await page.waitForFunction(() => document.querySelectorAll('.red-ui-editor .red-ui-tray').length === 0);
          const saved = await page.evaluate((nodeId) => {
            const node = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node(nodeId);
            return { lengthMode: node.lengthMode, max_length: node.max_length, valid: node.valid };
          }, id);
          assert.deepEqual(saved, { lengthMode: 'total', max_length: '100', valid: true });
        });
      }

      if (language === 'en-US') {
        it('greys out a check\'s settings while it is off in the marketing-check dialog, and saves them', async () => {
          const before = await nodeIds(page, 'marketing-check');
          await dragAndEdit(page, 'marketing-check', { x: 640, y: 560 });
          const [id] = (await nodeIds(page, 'marketing-check')).filter((nodeId) => !before.includes(nodeId));
          const tray = topTray(page);
          assert.equal(await tray.locator('#node-input-customPattern').isDisabled(), true, 'custom is off by default');
          assert.equal(await tray.locator('#node-input-brand').isDisabled(), false);
          await tray.locator('#node-input-custom').check();
          assert.equal(await tray.locator('#node-input-customPattern').isDisabled(), false);
          await tray.locator('#node-input-customPattern').fill('unsubscribe');
          await tray.locator('#node-input-customMode').selectOption('must');
          await tray.locator('#node-input-offers').uncheck();
          assert.equal(await tray.locator('#node-input-allowedOffers').isDisabled(), true);
          await tray.locator('#node-input-brand').fill('${BRAND}');
          await tray.locator('#node-input-minLength').fill('30');
          await tray.locator('#node-dialog-ok').click();
          await page.waitForFunction(() => document.querySelectorAll('.red-ui-editor .red-ui-tray').length === 0);
          const saved = await page.evaluate((nodeId) => {
            const node = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node(nodeId);
            return { custom: node.custom, customPattern: node.customPattern, customMode: node.customMode, offers: node.offers, brand: node.brand, minLength: node.minLength, valid: node.valid };
          }, id);
          assert.deepEqual(saved, { custom: true, customPattern: 'unsubscribe', customMode: 'must', offers: false, brand: '${BRAND}', minLength: '30', valid: true });
        });
      }

      for (const spec of CONFIG_NODES) {
        const from = spec.addedFrom as { type: string; property: string };
        it(`opens the ${spec.type} config dialog from the ${from.type} dialog, with its fields, labels and help`, async () => {
          await dragAndEdit(page, from.type, { x: 640, y: 500 });
          await topTray(page).locator(`#node-input-btn-${from.property}-add`).click();
          await topTray(page).locator(`#node-config-input-${Object.keys(spec.defaults)[1]}`).waitFor();
          await checkDialog(page, spec, language);
          await cancelDialog(page);
          await cancelDialog(page);
        });
      }

      it('raises no script error in the page', () => {
        assert.deepEqual(editor.pageErrors, []);
      });
    });
  }
}
