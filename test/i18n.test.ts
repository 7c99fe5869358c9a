/**
 * Every user-visible string goes through a catalog in both languages: the keys the runtime
 * and the editor ask for exist in en-US and zh-CN alike, every node has help in both with
 * the three usual parts, and every error code lib/ can raise has a text.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'zh-CN'];
// Help section headings, as the core nodes' help writes them in each language.
const HELP_SECTIONS: Record<string, { inputs: string; outputs: string; details: string }> = {
  'en-US': { inputs: 'Inputs', outputs: 'Outputs', details: 'Details' },
  'zh-CN': { inputs: '输入', outputs: '输出', details: '详细' },
};

function flatten(value: unknown, prefix = ''): Record<string, string> {
  if (typeof value === 'string') return { [prefix]: value };
  const flat: Record<string, string> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    Object.assign(flat, flatten(child, prefix ? `${prefix}.${key}` : key));
  }
  return flat;
}

function sourceFiles(dir: string, extension: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'locales' ? [] : sourceFiles(path, extension);
    return path.endsWith(extension) ? [path] : [];
  });
}

/** i18n keys a file asks for in its own catalog: RED._ / node._ / this._ calls and data-i18n. */
function requestedKeys(text: string, catalogKey: string): string[] {
  const keys = new Set<string>();
  for (const match of text.matchAll(/\b(?:RED|node|this|that)\._\(\s*['"`]([\w.-]+)['"`]/g)) keys.add(match[1]);
  for (const match of text.matchAll(/data-i18n="([^"]+)"/g)) {
    for (const part of match[1].split(';')) keys.add(part.replace(/^\[[^\]]*\]/, ''));
  }
  // A key ending in a dot is the fixed part of a computed key (`'x.operators.' + op`).
  return [...keys].filter((key) => key.startsWith(`${catalogKey}.`) && !key.endsWith('.'));
}

const nodeDirs = readdirSync(join(root, 'nodes')).filter((name) => statSync(join(root, 'nodes', name)).isDirectory());

describe('i18n: catalogs and help in en-US and zh-CN', function () {
  it('finds the nodes to check', function () {
    assert.ok(nodeDirs.length > 0);
  });

  for (const dir of nodeDirs) {
    describe(`nodes/${dir}`, function () {
      const base = join(root, 'nodes', dir);
      const catalogs = Object.fromEntries(LANGUAGES.map((lang) => [lang,
        flatten(JSON.parse(readFileSync(join(base, 'locales', lang, `${dir}.json`), 'utf8')))]));
      const editorHtml = readFileSync(join(base, `${dir}.html`), 'utf8');
      const types = [...editorHtml.matchAll(/registerType\(\s*['"]([\w-]+)['"]/g)].map((m) => m[1]);
      const isConfig = /category:\s*['"]config['"]/.test(editorHtml);

      it('has the same keys in every language, none empty, under the node\'s own name', function () {
        const english = Object.keys(catalogs['en-US']).sort();
        assert.ok(english.length > 0);
        for (const lang of LANGUAGES) {
          assert.deepEqual(Object.keys(catalogs[lang]).sort(), english, lang);
          assert.deepEqual(Object.entries(catalogs[lang]).filter(([, text]) => !text.trim()).map(([key]) => key), [], `${lang} empty texts`);
        }
        assert.ok(english.every((key) => key.startsWith(`${dir}.`)), `every key starts with ${dir}.`);
      });

      it('has a text for every key its runtime and editor ask for', function () {
        const files = [...sourceFiles(base, '.ts'), join(base, `${dir}.html`)];
        const missing = files.flatMap((file) => requestedKeys(readFileSync(file, 'utf8'), dir))
          .filter((key) => !(key in catalogs['en-US']));
        assert.deepEqual([...new Set(missing)], []);
      });

      it('has help in every language with Inputs, Outputs and Details', function () {
        assert.ok(types.length > 0, 'registers a type');
        for (const lang of LANGUAGES) {
          const helpFile = join(base, 'locales', lang, `${dir}.html`);
          assert.ok(existsSync(helpFile), helpFile);
          const help = readFileSync(helpFile, 'utf8');
          const sections = HELP_SECTIONS[lang];
          for (const type of types) {
            assert.match(help, new RegExp(`data-help-name="${type}"`), `${lang} help for ${type}`);
          }
          assert.match(help, new RegExp(`<h3>${sections.details}</h3>`), `${lang} Details`);
          if (!isConfig) {
            assert.match(help, new RegExp(`<h3>${sections.inputs}</h3>`), `${lang} Inputs`);
            assert.match(help, new RegExp(`<h3>${sections.outputs}</h3>`), `${lang} Outputs`);
            assert.match(help, /<dl class="message-properties">/, `${lang} message properties`);
          }
        }
      });
    });
  }

  it('has a text for every error code lib/ can raise, in some node\'s catalog', function () {
    const codes = new Set(sourceFiles(join(root, 'lib'), '.ts').flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/new MarketingError\(\s*['"](\w+)['"]/g)].map((m) => m[1])));
    const errorKeys = new Set(nodeDirs.flatMap((dir) => LANGUAGES.flatMap((lang) =>
      Object.keys(flatten(JSON.parse(readFileSync(join(root, 'nodes', dir, 'locales', lang, `${dir}.json`), 'utf8'))))))
      .filter((key) => /\.errors\./.test(key)).map((key) => key.replace(/^.*\.errors\./, '')));
    assert.deepEqual([...codes].filter((code) => !errorKeys.has(code)), []);
  });
});
