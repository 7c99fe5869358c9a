import { isOptedOutValue } from './contacts';

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

/** Whether a char code minus 48 is a digit 0-9 (one unsigned comparison). */
function isDigit(code: number): boolean {
  return code >>> 0 <= 9;
}

/** Days from 1970-01-01 to a proleptic Gregorian date; days past the month's end roll over, as in `Date.UTC`. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

/**
 * The day of `YYYY-MM-DD` at the start of `text` (days since 1970-01-01), or `NaN` when the
 * text is not that shape. With `isoTimeOfDay`, the two ISO 8601 shapes that exports write almost
 * always, `2024-01-31` and `2024-01-31T09:30:00(.000)Z`, are read in plain arithmetic: about
 * three times faster than `Date.parse` on this project's benchmark machine, which matters with
 * a million contacts and several date conditions. Both return small integers, so that no
 * number object is made per date even where V8 does not inline them.
 */
function isoDay(text: string): number {
  const length = text.length;
  if ((length !== 10 && length !== 20 && length !== 24) || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) {
    return Number.NaN;
  }
  const y0 = text.charCodeAt(0) - 48;
  const y1 = text.charCodeAt(1) - 48;
  const y2 = text.charCodeAt(2) - 48;
  const y3 = text.charCodeAt(3) - 48;
  const mo0 = text.charCodeAt(5) - 48;
  const mo1 = text.charCodeAt(6) - 48;
  const d0 = text.charCodeAt(8) - 48;
  const d1 = text.charCodeAt(9) - 48;
  if (!isDigit(y0) || !isDigit(y1) || !isDigit(y2) || !isDigit(y3) || !isDigit(mo0) || !isDigit(mo1) || !isDigit(d0) || !isDigit(d1)) {
    return Number.NaN;
  }
  const month = mo0 * 10 + mo1;
  const day = d0 * 10 + d1;
  if (month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  return daysFromCivil(y0 * 1000 + y1 * 100 + y2 * 10 + y3, month, day);
}

/**
 * The milliseconds into the day of `text` after its `YYYY-MM-DD` (0 for a date alone), or -1
 * when the rest is not `THH:MM:SSZ` or `THH:MM:SS.sssZ`.
 */
function isoTimeOfDay(text: string): number {
  const length = text.length;
  if (length === 10) return 0;
  // 'T' at 10, ':' at 13 and 16, 'Z' last, and '.' at 19 before milliseconds.
  if (text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(length - 1) !== 90) {
    return -1;
  }
  const h0 = text.charCodeAt(11) - 48;
  const h1 = text.charCodeAt(12) - 48;
  const mi0 = text.charCodeAt(14) - 48;
  const mi1 = text.charCodeAt(15) - 48;
  const s0 = text.charCodeAt(17) - 48;
  const s1 = text.charCodeAt(18) - 48;
  if (!isDigit(h0) || !isDigit(h1) || !isDigit(mi0) || !isDigit(mi1) || !isDigit(s0) || !isDigit(s1)) return -1;
  const hours = h0 * 10 + h1;
  const minutes = mi0 * 10 + mi1;
  const seconds = s0 * 10 + s1;
  if (hours > 23 || minutes > 59 || seconds > 59) return -1;
  let millis = 0;
  if (length === 24) {
    const f0 = text.charCodeAt(20) - 48;
    const f1 = text.charCodeAt(21) - 48;
    const f2 = text.charCodeAt(22) - 48;
    if (text.charCodeAt(19) !== 46 || !isDigit(f0) || !isDigit(f1) || !isDigit(f2)) return -1;
    millis = f0 * 100 + f1 * 10 + f2;
  }
  return hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + millis;
}

/** Whether a string starts like an ISO 8601 date (`YYYY-`), the only date strings accepted. */
export function looksLikeIsoDate(text: string): boolean {
  return text.length >= 8 && isDigit(text.charCodeAt(0) - 48) && isDigit(text.charCodeAt(1) - 48)
    && isDigit(text.charCodeAt(2) - 48) && isDigit(text.charCodeAt(3) - 48) && text.charCodeAt(4) === 45;
}

/**
 * Milliseconds since the epoch of a date-like value: a `Date`, an ISO 8601 string (a date
 * alone is midnight UTC, a date-time without offset is local time, as in JavaScript) or a
 * number (already milliseconds since the epoch). `NaN` for anything else: free text such as
 * `"12"` is never guessed into a date.
 */
export function toTime(value: unknown): number {
  if (typeof value === 'string') {
    const day = isoDay(value);
    const ms = day === day ? isoTimeOfDay(value) : -1; // NaN !== NaN: not one of the common shapes
    if (ms >= 0) return day * DAY_MS + ms;
    return looksLikeIsoDate(value) ? Date.parse(value) : Number.NaN;
  }
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  return Number.NaN;
}

/**
 * `true` and the spellings of yes that spreadsheets and CSV exports make of it (`1`, `"yes"`,
 * `"Y"`, ...): exactly how the consent rule reads an opt-out field, so one reading serves both.
 */
export const isTrueValue: (value: unknown) => boolean = isOptedOutValue;

const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);

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
