/**
 * Segment rules: conditions on contact fields joined by all/any, with nested groups.
 * A rule tree is compiled once (per deploy) into a tree of closures: every configuration error
 * shows at deploy time, and testing a contact parses no configured value again.
 */
import { compileFieldPath, type Contact } from './contacts';
import { MarketingError } from '../errors';
import { compileSafeRegex, type TextTest } from '../safe-regex';
import { DAY_MS, isEmptyValue, isFalseValue, isTrueValue, looksLikeIsoDate, toNumber, toTime } from './values';

/** Every operator a condition may use, as stored in flows. */
export const OPERATORS = [
  'eq', 'neq', 'contains', 'ncontains', 'starts', 'ends', 'regex', 'in', 'nin', 'empty', 'nempty',
  'gt', 'gte', 'lt', 'lte', 'between', 'true', 'false', 'hasTags', 'lacksTags',
  'before', 'after', 'withinDays', 'olderThanDays',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** One test on one field. `op` is a plain string because flows are user data, checked when compiled. */
export interface Condition {
  /** Field path in the contact, e.g. `country` or `address.city`. */
  field: string;
  op: string;
  value?: unknown;
  /** How `value` was entered: `str` (default), `num`, `json` (a list), `date`. */
  valueType?: string;
  /** Upper bound of `between`. */
  value2?: unknown;
  value2Type?: string;
  /** Text comparisons (equals, contains, starts/ends with, regex, lists, tags) ignore case. */
  ignoreCase?: boolean;
  /** For has/lacks tags: whether any or all of the listed tags count. */
  tagMatch?: 'any' | 'all';
}

export interface RuleGroup {
  join: 'all' | 'any';
  rules: Rule[];
}

export type Rule = Condition | RuleGroup;

/** `now` (ms since the epoch) is the reference time of relative date conditions. */
export type ContactPredicate = (contact: Contact, now: number) => boolean;

type ValueTest = (value: unknown, now: number) => boolean;

export function isRuleGroup(rule: Rule): rule is RuleGroup {
  return Array.isArray((rule as RuleGroup).rules);
}

/** Where a condition sits, for error messages: segment name and a 1-based path like `2.1`. */
interface Place {
  segment: string;
  condition: string;
}

function compileError(code: string, detail: string, place: Place, condition?: Condition,
  extra: Record<string, string | number> = {}): MarketingError {
  const field = condition?.field ?? '';
  const op = condition?.op ?? '';
  const value = condition === undefined ? '' : describe(condition.value);
  const where = condition === undefined
    ? `Segment "${place.segment}", group ${place.condition || '(top)'}`
    : `Segment "${place.segment}", condition ${place.condition} (${field} ${op})`;
  return new MarketingError(code, `${where}: ${detail}`, {
    segment: place.segment, condition: place.condition || '0', field, op, value, ...extra,
  });
}

function describe(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Compiles a segment's rule tree (the segment itself is the top group). */
export function compileRuleGroup(group: RuleGroup, segment: string): ContactPredicate {
  return compileGroup(group, { segment, condition: '' }).test;
}

/** A compiled rule, and whether testing it is dear: it parses dates or runs a regular expression. */
interface CompiledRule {
  test: ContactPredicate;
  dear: boolean;
}

const DEAR_OPERATORS: readonly string[] = ['before', 'after', 'withinDays', 'olderThanDays', 'regex'];

function compileRule(rule: Rule, place: Place): CompiledRule {
  if (typeof rule !== 'object' || rule === null) {
    throw compileError('unknownOperator', 'not a condition', place, { field: '', op: describe(rule) });
  }
  if (isRuleGroup(rule)) return compileGroup(rule, place);
  return { test: compileCondition(rule, place), dear: DEAR_OPERATORS.includes(rule.op) || rule.valueType === 'date' };
}

function compileGroup(group: RuleGroup, place: Place): CompiledRule {
  const join = group.join ?? 'all';
  if (join !== 'all' && join !== 'any') {
    throw compileError('badJoin', `"${describe(join)}" must be "all" or "any"`, place, undefined, { join: describe(join) });
  }
  const compiled = (group.rules ?? []).map((rule, i) =>
    compileRule(rule, { segment: place.segment, condition: place.condition ? `${place.condition}.${i + 1}` : `${i + 1}` }));
  // Tests have no side effects, so their order only changes how soon a group knows its answer:
  // the dear ones go last, as the others often decide without them.
  const parts = [...compiled.filter((part) => !part.dear), ...compiled.filter((part) => part.dear)].map((part) => part.test);
  // The first part that decides the group's answer ends the test: the rest are not read.
  const decisive = join === 'any';
  return {
    test: (contact, now) => {
      for (const part of parts) if (part(contact, now) === decisive) return decisive;
      return !decisive;
    },
    dear: compiled.some((part) => part.dear),
  };
}

const NEGATIONS: Partial<Record<Operator, Operator>> = {
  neq: 'eq', ncontains: 'contains', nin: 'in', nempty: 'empty', lacksTags: 'hasTags',
};

function compileCondition(condition: Condition, place: Place): ContactPredicate {
  const op = condition.op as Operator;
  if (!OPERATORS.includes(op)) {
    throw compileError('unknownOperator', `unknown operator "${describe(condition.op)}"`, place, condition);
  }
  if (typeof condition.field !== 'string' || condition.field.trim() === '') {
    throw compileError('missingField', 'no field given', place, condition);
  }
  const read = compileFieldPath(condition.field.trim());
  const positive = NEGATIONS[op];
  if (positive === undefined) {
    const test = compileTest(condition, op, place, condition);
    return (contact, now) => test(read(contact), now);
  }
  // "lacks all of" is "has none of" (not has any); "lacks any of" is "not has all".
  const tagMatch = op === 'lacksTags' ? (condition.tagMatch === 'all' ? 'any' : 'all') : condition.tagMatch;
  const test = compileTest({ ...condition, op: positive, tagMatch }, positive, place, condition);
  return (contact, now) => !test(read(contact), now);
}

// ---- configured values -------------------------------------------------------------------

/** The configured value as typed in the editor (`valueType`), or as found in hand-written flows. */
function configuredValue(value: unknown, type: string | undefined, place: Place, condition: Condition): unknown {
  if (type === 'num') {
    const number = toNumber(value);
    if (Number.isNaN(number)) throw compileError('badNumber', `"${describe(value)}" is not a number`, place, condition);
    return number;
  }
  if (type === 'json' && typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch (err) {
      throw compileError('badList', `"${value}" is not valid JSON (${(err as Error).message})`, place, condition,
        { detail: (err as Error).message });
    }
  }
  return value;
}

function requireText(value: unknown, place: Place, condition: Condition): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  if (text === '') throw compileError('missingValue', 'no value given', place, condition);
  return text;
}

/** A list from a JSON array or from comma-separated text (`FR, BE, CH`). */
function configuredList(value: unknown, place: Place, condition: Condition): unknown[] {
  const list = typeof value === 'string'
    ? value.split(',').map((item) => item.trim()).filter((item) => item !== '')
    : Array.isArray(value) ? value : [value];
  const usable = list.filter((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean');
  if (usable.length === 0 || usable.length !== list.length) {
    throw compileError('badList', 'needs a non-empty list of texts or numbers', place, condition, { detail: describe(value) });
  }
  return usable;
}

/** A configured bound for ordered comparisons: a number, an instant, or text. */
type Bound = { kind: 'number'; value: number } | { kind: 'time'; value: number } | { kind: 'text'; value: string };

function configuredBound(value: unknown, type: string | undefined, ignoreCase: boolean, place: Place,
  condition: Condition): Bound {
  if (type === 'date') return { kind: 'time', value: configuredTime(value, place, condition) };
  if (typeof value === 'number' && !Number.isNaN(value)) return { kind: 'number', value };
  if (value instanceof Date && !Number.isNaN(value.getTime())) return { kind: 'time', value: value.getTime() };
  if (typeof value === 'string' && value.trim() !== '') {
    const number = toNumber(value);
    if (!Number.isNaN(number)) return { kind: 'number', value: number };
    if (looksLikeIsoDate(value.trim())) {
      const time = toTime(value.trim());
      if (Number.isNaN(time)) throw compileError('badDate', `"${value}" is not a date (use ISO 8601, e.g. 2024-01-31)`, place, condition);
      return { kind: 'time', value: time };
    }
    return { kind: 'text', value: ignoreCase ? value.toLowerCase() : value };
  }
  throw compileError('missingValue', 'no value given', place, condition);
}

function configuredTime(value: unknown, place: Place, condition: Condition): number {
  const time = typeof value === 'string' ? toTime(value.trim()) : toTime(value);
  if (Number.isNaN(time)) {
    throw compileError('badDate', `"${describe(value)}" is not a date (use ISO 8601, e.g. 2024-01-31)`, place, condition);
  }
  return time;
}

// ---- tests on one value ---------------------------------------------------------------------

function compileTest(condition: Condition, op: Operator, place: Place, original: Condition): ValueTest {
  const ignoreCase = condition.ignoreCase === true;
  const value = configuredValue(condition.value, condition.valueType, place, original);
  switch (op) {
    case 'eq': return equalityTest(value, ignoreCase, place, original);
    case 'contains': return containsTest(value, ignoreCase, place, original);
    case 'starts': {
      const text = normaliseCase(requireText(value, place, original), ignoreCase);
      return anyElement(textTest(ignoreCase, (s) => s.startsWith(text)));
    }
    case 'ends': {
      const text = normaliseCase(requireText(value, place, original), ignoreCase);
      return anyElement(textTest(ignoreCase, (s) => s.endsWith(text)));
    }
    case 'regex': return anyElement(textTest(false, regexCondition(requireText(value, place, original), ignoreCase, place, original)));
    case 'in': return listTest(configuredList(value, place, original), ignoreCase);
    case 'empty': return isEmptyValue;
    case 'true': return isTrueValue;
    case 'false': return isFalseValue;
    case 'gt': case 'gte': case 'lt': case 'lte':
      return orderedTest(op, configuredBound(value, condition.valueType, ignoreCase, place, original), ignoreCase);
    case 'between': {
      const low = configuredBound(value, condition.valueType, ignoreCase, place, original);
      const second = { ...original, value: condition.value2 };
      const high = configuredBound(configuredValue(condition.value2, condition.value2Type, place, second),
        condition.value2Type, ignoreCase, place, second);
      if (low.kind !== high.kind) {
        throw compileError('badBetween', `"${describe(condition.value)}" and "${describe(condition.value2)}" are not the same kind of value`,
          place, original, { value2: describe(condition.value2) });
      }
      return betweenTest(low, high, ignoreCase);
    }
    case 'hasTags': return tagTest(configuredList(value, place, original), condition.tagMatch === 'all', ignoreCase);
    case 'before': {
      const time = configuredTime(value, place, original);
      return (v) => toTime(v) < time;
    }
    case 'after': {
      const time = configuredTime(value, place, original);
      return (v) => toTime(v) > time;
    }
    case 'withinDays': case 'olderThanDays': {
      const days = toNumber(value);
      if (!(days >= 0) || !Number.isFinite(days)) {
        throw compileError('badDays', `"${describe(condition.value)}" is not a number of days`, place, original);
      }
      const span = days * DAY_MS;
      return op === 'withinDays'
        ? (v, now) => { const t = toTime(v); return t >= now - span && t <= now; }
        : (v, now) => toTime(v) < now - span;
    }
    default:
      // Negated operators were turned into their positive form by the caller.
      throw compileError('unknownOperator', `unknown operator "${op}"`, place, original);
  }
}

/**
 * The `regex` condition's test on one text (as written: `ignoreCase` becomes the flag `i`).
 * Kept apart because it is the one condition that runs a pattern the user wrote: what is
 * refused at deploy time is decided here.
 */
function regexCondition(source: string, ignoreCase: boolean, place: Place, condition: Condition): TextTest {
  try {
    return compileSafeRegex(source, ignoreCase);
  } catch (err) {
    const { code, message, params } = err as MarketingError;
    throw compileError(code, message, place, condition, { detail: params.detail });
  }
}

function normaliseCase(text: string, ignoreCase: boolean): string {
  return ignoreCase ? text.toLowerCase() : text;
}

/** A test on the text of a value: strings as they are, numbers written out, nothing else. */
function textTest(ignoreCase: boolean, test: (text: string) => boolean): ValueTest {
  return ignoreCase
    ? (v) => (typeof v === 'string' ? test(v.toLowerCase()) : typeof v === 'number' ? test(String(v)) : false)
    : (v) => (typeof v === 'string' ? test(v) : typeof v === 'number' ? test(String(v)) : false);
}

/** On a list field (tags, interests), a text test holds when it holds for any element. */
function anyElement(test: ValueTest): ValueTest {
  return (v, now) => (Array.isArray(v) ? v.some((item) => test(item, now)) : test(v, now));
}

/**
 * Equality as a marketer means it: `3` equals `"3"`, a number typed in the editor equals
 * `"3.0"`, a configured date equals the same instant as a `Date` or in another ISO form,
 * text optionally ignores case. Text that only looks numeric (`"0033..."` vs `"+33..."`)
 * is still compared as text.
 */
function equalityTest(value: unknown, ignoreCase: boolean, place: Place, condition: Condition): ValueTest {
  if (typeof value === 'number') {
    return (v) => (typeof v === 'number' ? v === value : toNumber(v) === value);
  }
  if (typeof value === 'boolean') {
    return value ? isTrueValue : isFalseValue;
  }
  if (value instanceof Date) {
    const time = value.getTime();
    return (v) => toTime(v) === time;
  }
  if (typeof value !== 'string') {
    throw compileError('missingValue', 'needs a text, number or date value', place, condition);
  }
  const text = normaliseCase(value, ignoreCase);
  const number = toNumber(value);
  const sameText = textTest(ignoreCase, (s) => s === text);
  const textOrNumber: ValueTest = Number.isNaN(number)
    ? sameText
    : (v, now) => (typeof v === 'number' ? v === number : sameText(v, now));
  if (!looksLikeIsoDate(value.trim()) || Number.isNaN(toTime(value.trim()))) return textOrNumber;
  const time = toTime(value.trim());
  return (v, now) => textOrNumber(v, now) || toTime(v) === time;
}

/** On text, a substring; on a list field, an element equal to the value. */
function containsTest(value: unknown, ignoreCase: boolean, place: Place, condition: Condition): ValueTest {
  const text = normaliseCase(requireText(value, place, condition), ignoreCase);
  const inText = textTest(ignoreCase, (s) => s.includes(text));
  const equalsElement = equalityTest(value, ignoreCase, place, condition);
  return (v, now) => (Array.isArray(v) ? v.some((item) => equalsElement(item, now)) : inText(v, now));
}

/**
 * Membership with the same reading as equality, but with Set look-ups so that long lists
 * (hundreds of postcodes) cost the same as short ones.
 */
function listTest(list: unknown[], ignoreCase: boolean): ValueTest {
  const texts = new Set<string>();
  const typedNumbers = new Set<number>();
  const numbers = new Set<number>();
  for (const item of list) {
    if (typeof item === 'number') {
      typedNumbers.add(item);
      numbers.add(item);
      texts.add(String(item));
    } else {
      const text = String(item);
      texts.add(normaliseCase(text, ignoreCase));
      const number = toNumber(text);
      if (!Number.isNaN(number)) numbers.add(number);
    }
  }
  const isMember = (v: unknown): boolean => {
    if (typeof v === 'string') {
      return texts.has(ignoreCase ? v.toLowerCase() : v) || (typedNumbers.size > 0 && typedNumbers.has(toNumber(v)));
    }
    if (typeof v === 'number') return numbers.has(v);
    if (typeof v === 'boolean') return texts.has(String(v));
    return false;
  };
  return (v) => (Array.isArray(v) ? v.some(isMember) : isMember(v));
}

/** Reads a contact value as the kind of the configured bound: number, instant, or text. */
function boundKey(kind: Bound['kind'], ignoreCase: boolean): (v: unknown) => number | string | undefined {
  if (kind === 'number') return toNumber;
  if (kind === 'time') return toTime;
  return ignoreCase
    ? (v) => (typeof v === 'string' ? v.toLowerCase() : typeof v === 'number' ? String(v) : undefined)
    : (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
}

function orderedTest(op: 'gt' | 'gte' | 'lt' | 'lte', bound: Bound, ignoreCase: boolean): ValueTest {
  const key = boundKey(bound.kind, ignoreCase);
  const b = bound.value;
  // A missing or unreadable value (undefined, NaN) fails every comparison.
  switch (op) {
    case 'gt': return (v) => { const k = key(v); return k !== undefined && k > b; };
    case 'gte': return (v) => { const k = key(v); return k !== undefined && k >= b; };
    case 'lt': return (v) => { const k = key(v); return k !== undefined && k < b; };
    case 'lte': return (v) => { const k = key(v); return k !== undefined && k <= b; };
  }
}

/** Inclusive at both ends, whichever order the bounds were entered in. */
function betweenTest(first: Bound, second: Bound, ignoreCase: boolean): ValueTest {
  const key = boundKey(first.kind, ignoreCase);
  const [low, high] = first.value <= second.value ? [first.value, second.value] : [second.value, first.value];
  return (v) => { const k = key(v); return k !== undefined && k >= low && k <= high; };
}

/** Tags of a contact: a list, or comma-separated text as CSV exports write them. */
function tagsOf(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(',');
  return [];
}

function tagTest(list: unknown[], all: boolean, ignoreCase: boolean): ValueTest {
  const normalise = (tag: unknown): string => {
    const text = typeof tag === 'string' ? tag.trim() : String(tag);
    return ignoreCase ? text.toLowerCase() : text;
  };
  const wanted = new Set(list.map(normalise));
  if (!all) {
    return (v) => {
      for (const tag of tagsOf(v)) if (wanted.has(normalise(tag))) return true;
      return false;
    };
  }
  return (v) => {
    const tags = new Set(tagsOf(v).map(normalise));
    for (const tag of wanted) if (!tags.has(tag)) return false;
    return true;
  };
}
