/**
 * Segment rules: conditions on contact fields joined by all/any, with nested groups.
 * A rule tree is compiled once (per deploy) into one plain function (`GeneratedCode`), so
 * segmenting a million contacts runs no parsing, no operator look-up and no regex construction
 * per contact. Within a group the cheap conditions run first (see `CONDITION_COSTS`).
 */
import { compileFieldPath, trimmed, type Contact } from './contacts';
import { MarketingError } from './errors';
import { generatedFunction } from './generated-code';
import { compileSafeRegex, type TextTest } from './safe-regex';
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
  const code = new GeneratedCode();
  const test = ruleSource(compileGroup(group, { segment, condition: '' }), code);
  return code.compile(`return function matches(c, now) { return ${test}; };`);
}

/**
 * Tests one contact against every segment of a list: sets bit `s % 32` of `bits[at + (s >> 5)]`
 * for each segment `s` it matches, or only for the first one with `firstOnly`. False when it
 * matched none.
 */
export type SegmentMatcher = (contact: Contact, now: number, bits: Uint32Array, at: number) => boolean;

/** Compiles the rule trees of a list of segments into one matcher; `names` name them in errors. */
export function compileSegmentMatcher(segments: readonly RuleGroup[], names: readonly string[], firstOnly: boolean): SegmentMatcher {
  const code = new GeneratedCode();
  const tests = segments.map((segment, s) => {
    const test = ruleSource(compileGroup(segment, { segment: names[s], condition: '' }), code);
    return `if (${test}) { bits[at + ${s >>> 5}] |= ${(1 << (s & 31)) >>> 0}; ${firstOnly ? 'return true;' : 'found = true;'} }`;
  });
  return code.compile(`return function matchSegments(c, now, bits, at) {\nlet found = false;\n${tests.join('\n')}\nreturn found;\n};`);
}

/** Whether a rule tree reads the field `key` or a path below it (`rfm` is read by `rfm.label`). */
export function readsField(rule: Rule, key: string): boolean {
  if (typeof rule !== 'object' || rule === null) return false;
  if (isRuleGroup(rule)) return rule.rules.some((part) => readsField(part, key));
  return typeof rule.field === 'string' && rule.field.split('.')[0].trim() === key;
}

/** A rule checked and compiled, with what testing it costs relative to others (`CONDITION_COSTS`). */
type CompiledRule =
  | { cost: number; read: (contact: unknown) => unknown; test: ValueTest; negate: boolean }
  | { cost: number; all: boolean; parts: CompiledRule[] };

/**
 * Compiled rules are written out as the source of one function, calling each condition's
 * reader and test by parameter (`f0`, `f1`, ...): no configured text enters the source.
 *
 * Why generated code rather than a tree of closures: closures made by one function share
 * their call sites, so each `read(c)` and `test(v)` in a tree of them sees every condition of
 * every segment, and V8 calls through them generically (megamorphic). In generated code each
 * condition has call sites of its own, which V8 inlines. Measured on the benchmark's five
 * segments of three conditions and a million contacts: about 290 ms as closures, 160 generated.
 */
class GeneratedCode {
  private readonly functions: unknown[] = [];

  /** The parameter name under which the generated code calls `fn`. */
  ref(fn: unknown): string {
    this.functions.push(fn);
    return `f${this.functions.length - 1}`;
  }

  compile<T>(body: string): T {
    const params = this.functions.map((_, i) => `f${i}`);
    // The source names the functions only by parameter: rule sets of one shape share one factory.
    return generatedFunction<(...fns: unknown[]) => T>(params, body)(...this.functions);
  }
}

/** The rule as a JavaScript expression over the contact `c` and the reference time `now`. */
function ruleSource(rule: CompiledRule, code: GeneratedCode): string {
  if ('test' in rule) return `${rule.negate ? '!' : ''}${code.ref(rule.test)}(${code.ref(rule.read)}(c), now)`;
  if (rule.parts.length === 0) return rule.all ? 'true' : 'false';
  return `(${rule.parts.map((part) => ruleSource(part, code)).join(rule.all ? ' && ' : ' || ')})`;
}

function compileRule(rule: Rule, place: Place): CompiledRule {
  if (typeof rule !== 'object' || rule === null) {
    throw compileError('unknownOperator', 'not a condition', place, { field: '', op: describe(rule) });
  }
  return isRuleGroup(rule) ? compileGroup(rule, place) : compileCondition(rule, place);
}

function compileGroup(group: RuleGroup, place: Place): CompiledRule {
  const join = group.join ?? 'all';
  if (join !== 'all' && join !== 'any') {
    throw compileError('badJoin', `"${describe(join)}" must be "all" or "any"`, place, undefined, { join: describe(join) });
  }
  const parts = (group.rules ?? []).map((rule, i) =>
    compileRule(rule, { segment: place.segment, condition: place.condition ? `${place.condition}.${i + 1}` : `${i + 1}` }));
  return {
    all: join === 'all',
    // Tests have no side effects, so their order changes only how soon a group knows its answer:
    // cheap first, so that an all-group rejects (an any-group accepts) before the dear ones run.
    parts: parts.slice().sort((a, b) => a.cost - b.cost),
    cost: parts.reduce((sum, part) => sum + part.cost, 0),
  };
}

const NEGATIONS: Partial<Record<Operator, Operator>> = {
  neq: 'eq', ncontains: 'contains', nin: 'in', nempty: 'empty', lacksTags: 'hasTags',
};

function compileCondition(condition: Condition, place: Place): CompiledRule {
  const op = condition.op as Operator;
  if (!OPERATORS.includes(op)) {
    throw compileError('unknownOperator', `unknown operator "${describe(condition.op)}"`, place, condition);
  }
  if (typeof condition.field !== 'string' || condition.field.trim() === '') {
    throw compileError('missingField', 'no field given', place, condition);
  }
  const read = compileFieldPath(condition.field.trim());
  const positive = NEGATIONS[op];
  if (positive === undefined) return { read, negate: false, ...compileTest(condition, op, place, condition) };
  // "lacks all of" is "has none of" (not has any); "lacks any of" is "not has all".
  const tagMatch = op === 'lacksTags' ? (condition.tagMatch === 'all' ? 'any' : 'all') : condition.tagMatch;
  return { read, negate: true, ...compileTest({ ...condition, op: positive, tagMatch }, positive, place, condition) };
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

/**
 * What a test costs, relative to the others: reading a number or a flag least, then text,
 * tag lists, dates (a string to parse), and regular expressions most. Measured on the
 * benchmark's million contacts, testing a group's cheap conditions first took the five
 * segments from about 380 ms to 300; the ratios are rough, only the order matters. Regular
 * expressions come after dates since they run on re2js (lib/safe-regex.ts): about 0.4 µs a
 * test on the benchmark's countries, against 0.2-0.3 µs to parse and compare an ISO date.
 */
export const CONDITION_COSTS = { value: 1, text: 2, tags: 3, date: 4, regex: 5 } as const;

interface CompiledTest {
  test: ValueTest;
  cost: number;
}

function boundCost(bound: Bound): number {
  return bound.kind === 'number' ? CONDITION_COSTS.value : bound.kind === 'time' ? CONDITION_COSTS.date : CONDITION_COSTS.text;
}

/** Equality with a number or a flag reads a value; with a date it may parse one; else it compares text. */
function equalityCost(value: unknown): number {
  if (typeof value === 'number' || typeof value === 'boolean') return CONDITION_COSTS.value;
  if (value instanceof Date || (typeof value === 'string' && looksLikeIsoDate(value.trim()))) return CONDITION_COSTS.date;
  return CONDITION_COSTS.text;
}

function compileTest(condition: Condition, op: Operator, place: Place, original: Condition): CompiledTest {
  const ignoreCase = condition.ignoreCase === true;
  const value = configuredValue(condition.value, condition.valueType, place, original);
  const { text: TEXT, value: VALUE, tags: TAGS, regex: REGEX, date: DATE } = CONDITION_COSTS;
  switch (op) {
    case 'eq': return { test: equalityTest(value, ignoreCase, place, original), cost: equalityCost(value) };
    case 'contains': return { test: containsTest(value, ignoreCase, place, original), cost: TEXT };
    case 'starts': {
      const text = normaliseCase(requireText(value, place, original), ignoreCase);
      return { test: anyElement(textTest(ignoreCase, (s) => s.startsWith(text))), cost: TEXT };
    }
    case 'ends': {
      const text = normaliseCase(requireText(value, place, original), ignoreCase);
      return { test: anyElement(textTest(ignoreCase, (s) => s.endsWith(text))), cost: TEXT };
    }
    case 'regex': {
      const source = requireText(value, place, original);
      let matches: TextTest;
      try {
        matches = compileSafeRegex(source, ignoreCase);
      } catch (err) {
        const { code, message, params } = err as MarketingError;
        throw compileError(code, message, place, original, { detail: params.detail });
      }
      return { test: anyElement(textTest(false, matches)), cost: REGEX };
    }
    case 'in': return { test: listTest(configuredList(value, place, original), ignoreCase), cost: TEXT };
    case 'empty': return { test: isEmptyValue, cost: VALUE };
    case 'true': return { test: isTrueValue, cost: VALUE };
    case 'false': return { test: isFalseValue, cost: VALUE };
    case 'gt': case 'gte': case 'lt': case 'lte': {
      const bound = configuredBound(value, condition.valueType, ignoreCase, place, original);
      return { test: orderedTest(op, bound, ignoreCase), cost: boundCost(bound) };
    }
    case 'between': {
      const low = configuredBound(value, condition.valueType, ignoreCase, place, original);
      const second = { ...original, value: condition.value2 };
      const high = configuredBound(configuredValue(condition.value2, condition.value2Type, place, second),
        condition.value2Type, ignoreCase, place, second);
      if (low.kind !== high.kind) {
        throw compileError('badBetween', `"${describe(condition.value)}" and "${describe(condition.value2)}" are not the same kind of value`,
          place, original, { value2: describe(condition.value2) });
      }
      return { test: betweenTest(low, high, ignoreCase), cost: boundCost(low) };
    }
    case 'hasTags': return { test: tagTest(configuredList(value, place, original), condition.tagMatch === 'all', ignoreCase), cost: TAGS };
    case 'before': {
      const time = configuredTime(value, place, original);
      return { test: (v) => toTime(v) < time, cost: DATE };
    }
    case 'after': {
      const time = configuredTime(value, place, original);
      return { test: (v) => toTime(v) > time, cost: DATE };
    }
    case 'withinDays': case 'olderThanDays': {
      const days = toNumber(value);
      if (!(days >= 0) || !Number.isFinite(days)) {
        throw compileError('badDays', `"${describe(condition.value)}" is not a number of days`, place, original);
      }
      const span = days * DAY_MS;
      return {
        test: op === 'withinDays'
          ? (v, now) => { const t = toTime(v); return t >= now - span && t <= now; }
          : (v, now) => toTime(v) < now - span,
        cost: DATE,
      };
    }
    default:
      // Negated operators were turned into their positive form by the caller.
      throw compileError('unknownOperator', `unknown operator "${op}"`, place, original);
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
    const text = typeof tag === 'string' ? trimmed(tag) : String(tag);
    return ignoreCase ? text.toLowerCase() : text;
  };
  const wanted = new Map<string, number>();
  for (const tag of list) if (!wanted.has(normalise(tag))) wanted.set(normalise(tag), wanted.size);
  if (!all || wanted.size === 1) {
    // One tag, the common case, is compared as text rather than looked up.
    const [only] = wanted.keys();
    const isWanted = wanted.size === 1 ? (tag: string) => tag === only : (tag: string) => wanted.has(tag);
    return (v) => {
      for (const tag of tagsOf(v)) if (isWanted(normalise(tag))) return true;
      return false;
    };
  }
  // All-of: collect which wanted tags were seen, without allocating per contact.
  const complete = wanted.size >= 31 ? -1 : (1 << wanted.size) - 1;
  return (v) => {
    const seen = complete === -1 ? new Set<number>() : undefined;
    let mask = 0;
    for (const tag of tagsOf(v)) {
      const bit = wanted.get(normalise(tag));
      if (bit === undefined) continue;
      if (seen) seen.add(bit);
      else mask |= 1 << bit;
    }
    return seen ? seen.size === wanted.size : mask === complete;
  };
}
