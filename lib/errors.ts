import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An error the user can act on. `lib/` knows nothing of Node-RED, so it names the problem
 * with a stable `code` and the facts in `params`; the node layer turns that into a
 * translated message (`<node>.errors.<code>` in the node's locale catalog). The English
 * `message` (for use outside Node-RED: benchmarks, scripts) is the nodes' en-US catalog
 * text for `code`, so that English is written once; the text given here is only the
 * fallback for a code that no catalog has.
 *
 * Messages and text params often quote input (an address, a template value, a server's
 * reply); they are made `printable` here, so that no error text can start a forged line
 * in Node-RED's log or a Debug sidebar.
 */
export class MarketingError extends Error {
  readonly code: string;
  readonly params: Record<string, string | number>;

  constructor(code: string, message: string, params: Record<string, string | number> = {}) {
    super(printable(englishText(code, params) ?? message));
    this.name = 'MarketingError';
    this.code = code;
    this.params = {};
    for (const [key, value] of Object.entries(params)) this.params[key] = typeof value === 'string' ? printable(value) : value;
  }
}

export function isMarketingError(err: unknown): err is MarketingError {
  return err instanceof MarketingError;
}

// C0 and C1 controls (tab and line breaks included), and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' };

/**
 * `text` with every control character written out as an escape: CR as `\r`, LF as `\n`, tab
 * as `\t`, other C0/C1 controls as `\xNN`, U+2028/U+2029 as `\u2028`/`\u2029`. For error
 * texts and log lines that quote input: one line stays one line.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const escape = ESCAPES[char];
    if (escape) return escape;
    const code = char.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0').toUpperCase()}`;
  });
}

/** `text` cut to at most `max` characters, the cut marked with `...`: for quoting input in messages. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The nodes' en-US error texts by code; lib/ and nodes/ sit side by side in dist/ and in the package. */
let englishCatalog: Map<string, string[]> | undefined;

function englishTexts(code: string): readonly string[] {
  if (!englishCatalog) {
    englishCatalog = new Map();
    const nodesDir = join(__dirname, '..', 'nodes');
    let files: string[] = [];
    try {
      files = readdirSync(nodesDir).flatMap((node) => {
        const folder = join(nodesDir, node, 'locales', 'en-US');
        try {
          return readdirSync(folder).filter((file) => file.endsWith('.json')).map((file) => join(folder, file));
        } catch {
          return [];
        }
      });
    } catch {
      // lib/ used without the nodes: the texts given to MarketingError stand
    }
    for (const file of files) {
      const catalog = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { errors?: Record<string, string> }>;
      for (const { errors } of Object.values(catalog)) {
        for (const [key, text] of Object.entries(errors ?? {})) englishCatalog.set(key, [...(englishCatalog.get(key) ?? []), text]);
      }
    }
  }
  return englishCatalog.get(code) ?? [];
}

/**
 * The en-US catalog text for `code` with its `__param__` placeholders filled in, as Node-RED's
 * i18n does; of several catalogs' texts, the first whose placeholders `params` all fill.
 */
export function englishText(code: string, params: Record<string, string | number>): string | undefined {
  for (const text of englishTexts(code)) {
    let complete = true;
    const rendered = text.replace(/__(\w+)__/g, (_, name: string) => {
      if (!(name in params)) complete = false;
      return String(params[name]);
    });
    if (complete) return rendered;
  }
  return undefined;
}
