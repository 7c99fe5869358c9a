/**
 * An error the user can act on. `lib/` knows nothing of Node-RED or of languages, so it
 * names the problem with a stable `code` and the facts in `params`; the node layer turns
 * that into a translated message (`<node>.errors.<code>` in the node's locale catalog).
 * `message` is an English fallback for use outside Node-RED (benchmarks, scripts).
 *
 * Messages and text params often quote input (an address, a template value, a server's
 * reply); they are made `printable` here, so that no error text can start a forged line
 * in Node-RED's log or a Debug sidebar.
 */
export class MarketingError extends Error {
  readonly code: string;
  readonly params: Record<string, string | number>;

  constructor(code: string, message: string, params: Record<string, string | number> = {}) {
    super(printable(message));
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
