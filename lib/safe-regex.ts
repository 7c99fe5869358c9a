/**
 * Regular expressions written by users, run in bounded time.
 *
 * JavaScript's own RegExp backtracks: a pattern such as `(a+)+$` on 32 `a` then `!` takes tens
 * of seconds, and on longer text it never ends, with Node-RED's event loop blocked throughout.
 * So user patterns run on `re2js`, a pure-JavaScript port of RE2 whose matching time grows
 * linearly with the text, whatever the pattern. Patterns are written as in JavaScript (named
 * groups, `\u00e9` and the like are translated); the features that need backtracking
 * (lookahead, lookbehind, backreferences) and repeat counts over 1000 are refused when the
 * pattern is compiled, with the code `unsupportedRegex`. A pattern that JavaScript would not
 * accept either is refused with `badRegex`. A few escapes that JavaScript reads as plain
 * letters keep their RE2 meaning: `\p{Lu}` (a Unicode class), `\A`, `\z`, `\Q...\E`; and as in
 * RE2, `\s` is ASCII white space only and `.` is any code point but `\n` (`\r` and an emoji
 * included).
 *
 * Linear is still proportional to the text, so text longer than `REGEX_TEXT_LIMIT` is not
 * tested at all: it does not match.
 */
import { RE2JS } from 're2js';
import { MarketingError } from './errors';

/** The longest text (in UTF-16 code units, as `String.length` counts) a user pattern is tested on. */
export const REGEX_TEXT_LIMIT = 10_000;

/** Tests one text; false when the text is longer than `REGEX_TEXT_LIMIT`. */
export type TextTest = (text: string) => boolean;

/**
 * Compiles a user's pattern, or throws a `MarketingError` (`badRegex` or `unsupportedRegex`,
 * with `pattern` and `detail` in its params).
 */
export function compileSafeRegex(source: string, ignoreCase = false): TextTest {
  try {
    // Only parsed, never run: patterns are written, and checked, as JavaScript's.
    new RegExp(source, ignoreCase ? 'i' : '');
  } catch (err) {
    const detail = (err as Error).message;
    throw new MarketingError('badRegex', `invalid regular expression "${source}" (${detail})`, { pattern: source, detail });
  }
  let pattern: RE2JS;
  try {
    if (hasNamedBackreference(source)) throw new Error('backreference \\k<name>');
    pattern = RE2JS.compile(RE2JS.translateRegExp(source), ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    const detail = (err as Error).message;
    throw new MarketingError('unsupportedRegex',
      `regular expression "${source}" is refused: lookahead, lookbehind, backreferences and repeat counts over 1000 cannot run in bounded time (${detail})`,
      { pattern: source, detail });
  }
  return (text) => text.length <= REGEX_TEXT_LIMIT && pattern.test(text);
}

/**
 * `translateRegExp` reads `\k` as the letter k, as JavaScript does in a pattern without named
 * groups; in one with named groups (and valid, as checked before) every `\k` is a
 * backreference. Appending `|` makes the pattern match the empty text, so `groups` shows
 * whether it has named groups.
 */
function hasNamedBackreference(source: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\k/.test(source) && new RegExp(`${source}|`).exec('')?.groups !== undefined;
}
