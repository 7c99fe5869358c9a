/**
 * Type-aware reading of contact values. Contact data comes from JSON, CSV, spreadsheets and
 * databases, so the same fact arrives as `42` or `"42"`, as a `Date` or as an ISO string:
 * conditions compare what the values mean, not how they happen to be typed.
 */

/**
 * A number from a number or a numeric string (`"42"`, `" 3.5 "`, `"1e3"`); `NaN` for
 * anything else, including empty strings, booleans and dates.
 */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.length === 0) return Number.NaN;
  const number = Number(value);
  // Number('') and Number('  ') are 0: a blank cell is not a zero.
  return number === 0 && value.trim() === '' ? Number.NaN : number;
}

export const DAY_MS = 86_400_000;

const ISO_DATE_START = /^\d{4}-/;

/** Whether a string starts like an ISO 8601 date (`YYYY-`), the only date strings accepted. */
export function looksLikeIsoDate(text: string): boolean {
  return text.length >= 8 && ISO_DATE_START.test(text);
}

/**
 * Milliseconds since the epoch of a date-like value: a `Date`, an ISO 8601 string (a date
 * alone is midnight UTC, a date-time without offset is local time, as in JavaScript) or a
 * number (already milliseconds since the epoch). `NaN` for anything else: free text such as
 * `"12"` is never guessed into a date, though `Date.parse` would try.
 */
export function toTime(value: unknown): number {
  if (typeof value === 'string') return looksLikeIsoDate(value) ? Date.parse(value) : Number.NaN;
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  return Number.NaN;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);

/**
 * `true` and the spellings of yes that spreadsheets and CSV exports make of it (`1`, `"yes"`,
 * `"Y"`, ...). The consent rule reads an opt-out field this way too (`isOptedOutValue`).
 */
export function isTrueValue(value: unknown): boolean {
  if (value === true || value === 1) return true;
  return typeof value === 'string' && TRUE_WORDS.has(value.trim().toLowerCase());
}

export function isFalseValue(value: unknown): boolean {
  if (value === false || value === 0) return true;
  return typeof value === 'string' && FALSE_WORDS.has(value.trim().toLowerCase());
}

/** Empty in the sense a marketer means: missing, null, blank text, an empty list or object. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim().length === 0;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && !(value instanceof Date)) return Object.keys(value).length === 0;
  return false;
}
