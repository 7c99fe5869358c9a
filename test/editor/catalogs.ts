/**
 * What the package's locale files say, read straight from nodes/<node>/locales/<lang>/, so
 * the editor tests compare what the browser shows with the files a translator edits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../support/package-link';

export type Language = 'en-US' | 'zh-CN';

/** Help section headings, as Node-RED's core nodes write them in each language. */
export const HELP_HEADINGS: Record<Language, string[]> = {
  'en-US': ['Inputs', 'Outputs', 'Details'],
  'zh-CN': ['输入', '输出', '详细'],
};

/** The message catalog of nodes/<dir> in `language`, as a lookup of dotted keys. */
export function catalog(dir: string, language: Language): (key: string) => string | undefined {
  const messages = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'nodes', dir, 'locales', language, `${dir}.json`), 'utf8')) as unknown;
  return (key) => {
    const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], messages);
    return typeof value === 'string' ? value : undefined;
  };
}

/** The text of the first paragraph of `type`'s help in `language`, whitespace collapsed. */
export function firstHelpParagraph(dir: string, type: string, language: Language): string {
  const html = readFileSync(join(PACKAGE_ROOT, 'nodes', dir, 'locales', language, `${dir}.html`), 'utf8');
  const help = new RegExp(`data-help-name="${type}">([\\s\\S]*?)</script>`).exec(html)?.[1] ?? '';
  const paragraph = /<p>([\s\S]*?)<\/p>/.exec(help)?.[1] ?? '';
  return decodeEntities(paragraph.replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim();
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
