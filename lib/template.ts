/**
 * The package's one templating module: mustache templates for prompts (plain text) and for
 * email subjects and bodies (plain text, or HTML with escaped values).
 *
 * Mustache parses and renders (grammar, sections, partials and their indentation are the
 * library's). Like Node-RED's core Template node, this module changes only how names are
 * looked up and how values are written, through mustache's own `Context` and `Writer`:
 *
 * - a name reads only own properties of objects and arrays, inner sections first, then asks
 *   the `lookup` callback (`flow.x`, `global.x`, `env.X`); functions are never called
 *   (mustache would call them as lambdas): they count as missing;
 * - `{{contact.firstName|there}}` carries a default, used by the `default` and `error`
 *   missing-variable policies;
 * - every inserted value is turned into text, stripped of control characters other than
 *   newline and tab (those too become spaces with `singleLine`, for subjects), and capped;
 * - `escape: 'html'` escapes `{{x}}` values (mustache's own escaper); `{{{x}}}` stays raw;
 *   `escape: 'none'` never escapes (`O'Brien & Co` stays `O'Brien & Co`).
 *
 * What mustache does not check is checked once, when the template is compiled: syntax
 * errors get the template's name, line and column; partials must exist and must not
 * include each other; partials no template uses are checked too.
 */
import Mustache from 'mustache';
import { MarketingError } from './errors';

/** How inserted values are escaped: `html` for HTML email bodies, `none` for all plain text. */
export type EscapeMode = 'none' | 'html';

/**
 * What a missing variable (absent, `null`, or blank text) becomes:
 * - `empty`: nothing, like plain mustache; a written default is not used;
 * - `default`: its written default (`{{name|default}}`), or nothing if it has none;
 * - `error`: its written default if it has one; every missing variable without one is named
 *   in a single `missingVariables` error.
 */
export type MissingPolicy = 'empty' | 'error' | 'default';

export const MISSING_POLICIES: readonly MissingPolicy[] = ['empty', 'default', 'error'];

export const DEFAULT_MAX_VALUE_LENGTH = 500;

export interface TemplateOptions {
  /** Default `none`. */
  escape?: EscapeMode;
  /** Named snippets usable as `{{> name}}`, in the template and in each other. */
  partials?: Record<string, string>;
  /** Default `empty`. */
  missing?: MissingPolicy;
  /** Cap on the characters of each inserted value; default 500, 0 = no cap. */
  maxValueLength?: number;
  /**
   * Inserted values on one line: their newlines and tabs become spaces (for email
   * subjects and other header-like text). Default false: newlines and tabs are kept.
   */
  singleLine?: boolean;
  /** How syntax errors name this template (`params.template`), e.g. `subject`. */
  name?: string;
}

/** Resolves a name the context lacks, e.g. `flow.offer`; `undefined` means missing. */
export type TemplateLookup = (name: string) => unknown;

export interface CompiledTemplate {
  /**
   * Renders with `context` as the root view. Throws `MarketingError('missingVariables')`
   * under the `error` policy; never throws otherwise.
   */
  render(context: Record<string, unknown>, lookup?: TemplateLookup): string;
  /** Every variable and section name used (partials included), without defaults. */
  readonly names: readonly string[];
}

/** A token of mustache's parser: `[type, value, start, end, ...]`. */
type Token = [string, string, number, number, ...unknown[]];

/** A tag as written (`contact.firstName|there`), split once at compile time. */
interface Variable {
  /** `contact.firstName`: what `names`, errors and the lookup callback see. */
  readonly name: string;
  /** `['contact', 'firstName']`; none for `.`, the current item. */
  readonly keys: readonly string[];
  readonly written: string | undefined;
}

/** What every context of one render shares. */
interface RenderState {
  readonly variables: ReadonlyMap<string, Variable>;
  readonly lookup: TemplateLookup | undefined;
  /** Names of missing variables without a default, collected under the `error` policy. */
  readonly missing: string[] | undefined;
}

const TAGS: [string, string] = ['{{', '}}'];

/** A path that is not in a view (distinct from a present `undefined` value). */
const NOT_FOUND = Symbol('notFound');

// C0 and C1 control characters except tab (\t, U+0009) and newline (\n, U+000A).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'g');
const LINE_BREAK_OR_TAB = /[\n\t\u2028\u2029]/;
const LINE_BREAKS_AND_TABS = /[\n\t\u2028\u2029]+/g;
const NON_BLANK = /\S/;

/** Parses and checks `source` once; the result renders any number of contexts. */
export function compileTemplate(source: string, options: TemplateOptions = {}): CompiledTemplate {
  const writer = new TemplateWriter(options);
  const tokens = writer.prepare(source, options.name ?? '');
  writer.checkAllPartials();
  const names = [...new Set([...writer.variables.values()].map((variable) => variable.name))];
  const collectMissing = options.missing === 'error';
  return {
    names,
    render(context, lookup) {
      const state: RenderState = { variables: writer.variables, lookup, missing: collectMissing ? [] : undefined };
      const text = writer.renderTokens(tokens as unknown as string[][], new TemplateContext(context, undefined, state));
      if (state.missing !== undefined && state.missing.length > 0) throw missingVariablesError(state.missing);
      return text;
    },
  };
}

function missingVariablesError(missing: string[]): MarketingError {
  const names = [...new Set(missing)];
  return new MarketingError('missingVariables', `Missing template variables: ${names.join(', ')}`, {
    names: names.join(', '),
    count: names.length,
  });
}

/**
 * Mustache's context with this module's lookup rules (the way Node-RED's Template node
 * subclasses it): own properties only, inner sections first, then the `lookup` callback;
 * functions are never returned, so mustache never calls them.
 */
class TemplateContext extends Mustache.Context {
  declare parent: TemplateContext | undefined;

  constructor(view: unknown, parent: TemplateContext | undefined, readonly state: RenderState) {
    super(view, parent);
  }

  override push(view: unknown): TemplateContext {
    return new TemplateContext(view, this, this.state);
  }

  /** Mustache asks this for section names; values go through `find` directly. */
  override lookup(tag: string): unknown {
    return this.find(this.state.variables.get(tag) as Variable);
  }

  find(variable: Variable): unknown {
    let value = variable.keys.length === 0 ? this.view : this.findInViews(variable.keys);
    if (value === NOT_FOUND) value = this.state.lookup?.(variable.name);
    return typeof value === 'function' ? undefined : value;
  }

  private findInViews(keys: readonly string[]): unknown {
    const value = readOwn(this.view, keys);
    return value !== NOT_FOUND || this.parent === undefined ? value : this.parent.findInViews(keys);
  }
}

/**
 * Own properties of objects and arrays only: never a prototype's (`constructor`,
 * `__proto__`), and a string has no names (`{{#name}}{{length}}{{/name}}`, `{{name.length}}`).
 */
function readOwn(view: unknown, keys: readonly string[]): unknown {
  let value = view;
  for (const key of keys) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return NOT_FOUND;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function variableOf(tag: string): Variable {
  const bar = tag.indexOf('|');
  const name = (bar < 0 ? tag : tag.slice(0, bar)).trim();
  return {
    name,
    keys: name === '.' ? [] : name.split('.'),
    written: bar < 0 ? undefined : tag.slice(bar + 1).trim(),
  };
}

/**
 * Mustache's writer, writing values as text under the missing-variable policy, with
 * partials parsed and checked once when the template is compiled.
 */
class TemplateWriter extends Mustache.Writer {
  /** Every tag of the template and its partials. */
  readonly variables = new Map<string, Variable>();
  private readonly partials: Record<string, string>;
  private readonly escapeHtml: boolean;
  private readonly missing: MissingPolicy;
  private readonly maxValueLength: number;
  private readonly singleLine: boolean;
  /** The tokens each partial tag renders: the partial indented as mustache indents it. */
  private readonly partialTokens = new Map<unknown, Token[]>();
  /** Partials whose own text has been checked, so that errors point into that text. */
  private readonly checkedPartials = new Set<string>();
  /** The partials being expanded, innermost last, to refuse partials that include each other. */
  private readonly partialStack: string[] = [];

  constructor(options: TemplateOptions) {
    super();
    this.partials = options.partials ?? {};
    this.escapeHtml = options.escape === 'html';
    this.missing = options.missing ?? 'empty';
    const cap = options.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
    this.maxValueLength = Number.isFinite(cap) && cap > 0 ? Math.floor(cap) : 0;
    this.singleLine = options.singleLine ?? false;
  }

  /** Parses `source` and checks its partials; `label` names it in errors (`default`, `> brand`). */
  prepare(source: string, label: string): Token[] {
    let tokens: Token[];
    try {
      tokens = this.parse(source, TAGS) as Token[];
    } catch (err) {
      throw explainParseError(label, source, err instanceof Error ? err.message : String(err));
    }
    this.prepareTokens(tokens, source, label);
    return tokens;
  }

  /** Partials no template uses still get checked, so that a deploy reports them. */
  checkAllPartials(): void {
    for (const name of Object.keys(this.partials)) this.checkPartial(name);
  }

  private prepareTokens(tokens: Token[], source: string, label: string): void {
    for (const token of tokens) {
      const [type, tag] = token;
      if (type === '>') this.preparePartial(token, source, label);
      if (type !== 'name' && type !== '&' && type !== '#' && type !== '^') continue;
      if (!this.variables.has(tag)) this.variables.set(tag, variableOf(tag));
      if (type === '#' || type === '^') this.prepareTokens(token[4] as Token[], source, label);
    }
  }

  private preparePartial(token: Token, source: string, label: string): void {
    // Tokens are cached by text, so a partial used twice may bring the same tag again.
    if (this.partialTokens.has(token)) return;
    const [, name, start, , indentation, tagIndex, lineHasNonSpace] = token as [string, string, number, number, string, number, boolean];
    if (!Object.hasOwn(this.partials, name)) throw syntaxError(label, source, start, `unknown partial "${name}"`);
    if (this.partialStack.includes(name)) {
      const cycle = [...this.partialStack.slice(this.partialStack.indexOf(name)), name].join(' > ');
      throw syntaxError(label, source, start, `partials include each other: ${cycle}`);
    }
    this.checkPartial(name);
    this.partialStack.push(name);
    const text = tagIndex === 0 && indentation ? this.indentPartial(this.partials[name], indentation, lineHasNonSpace) : this.partials[name];
    this.partialTokens.set(token, this.prepare(text, `> ${name}`));
    this.partialStack.pop();
  }

  private checkPartial(name: string): void {
    if (this.checkedPartials.has(name)) return;
    this.checkedPartials.add(name);
    this.partialStack.push(name);
    this.prepare(this.partials[name], `> ${name}`);
    this.partialStack.pop();
  }

  override renderPartial(token: string[], context: Mustache.Context): string {
    return this.renderTokens(this.partialTokens.get(token) as unknown as string[][], context);
  }

  override escapedValue(token: string[], context: Mustache.Context): string {
    return this.insert(token[1], context as TemplateContext, this.escapeHtml);
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.insert(token[1], context as TemplateContext, false);
  }

  private insert(tag: string, context: TemplateContext, escape: boolean): string {
    const variable = this.variables.get(tag) as Variable;
    const value = context.find(variable);
    const text = value === undefined ? '' : valueToText(value, this.maxValueLength, this.singleLine);
    if (this.missing === 'empty' || NON_BLANK.test(text)) return escape ? Mustache.escape(text) : text;
    if (variable.written !== undefined) return escape ? Mustache.escape(variable.written) : variable.written;
    context.state.missing?.push(variable.name);
    return '';
  }
}

/**
 * The text of an inserted value: strings as they are, numbers and booleans as JavaScript
 * writes them, arrays as their items separated by `, `, dates in ISO 8601, other objects as
 * JSON; control characters removed (and line breaks and tabs made spaces for `singleLine`),
 * then cut to `maxLength` (never inside a surrogate pair).
 * `null`, `undefined` and functions are missing: ''.
 */
function valueToText(value: unknown, maxLength: number, singleLine: boolean): string {
  let text = typeof value === 'string' ? value : formatNonString(value);
  if (text.length === 0) return text;
  if (CONTROL_CHARACTER.test(text)) text = text.replace(CONTROL_CHARACTERS, '');
  if (singleLine && LINE_BREAK_OR_TAB.test(text)) text = text.replace(LINE_BREAKS_AND_TABS, ' ');
  if (maxLength > 0 && text.length > maxLength) {
    const end = isHighSurrogate(text.charCodeAt(maxLength - 1)) ? maxLength - 1 : maxLength;
    text = text.slice(0, end);
  }
  return text;
}

function formatNonString(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') return '';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? item : formatNonString(item))).join(', ');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value); // circular structures
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
/**
 * Mustache reports `Unclosed tag at 12`, `Unclosed section "vip" at 40`, `Unopened section
 * "vip" at 40`, `Invalid tags: ...`; this points at the place a user must fix.
 */
function explainParseError(label: string, source: string, message: string): MarketingError {
  const at = /at (\d+)$/.exec(message);
  const position = at ? Number(at[1]) : 0;
  const section = /section "(.*)"/.exec(message)?.[1] ?? '';
  if (message.startsWith('Unclosed tag')) {
    const opening = source.lastIndexOf('{{', position);
    return syntaxError(label, source, opening >= 0 ? opening : position, 'unclosed tag: "}}" expected');
  }
  if (message.startsWith('Unopened section')) {
    return syntaxError(label, source, position, `section "${section}" is closed but was never opened`);
  }
  if (message.startsWith('Unclosed section')) {
    if (position < source.length) {
      return syntaxError(label, source, position, `section "${section}" must be closed with {{/${section}}} before this tag`);
    }
    return syntaxError(label, source, findSectionOpening(source, section) ?? position, `section "${section}" is never closed with {{/${section}}}`);
  }
  if (message.startsWith('Invalid tags')) {
    const change = source.indexOf('{{=');
    return syntaxError(label, source, change >= 0 ? change : 0, 'invalid delimiter change: use {{=<% %>=}}');
  }
  return syntaxError(label, source, position, message);
}

/** The last `{{#name}}` or `{{^name}}` in the source (the one left open), if written with braces. */
function findSectionOpening(source: string, section: string): number | undefined {
  const escaped = section.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const openings = [...source.matchAll(new RegExp(`\\{\\{\\s*[#^]\\s*${escaped}\\s*\\}\\}`, 'g'))];
  return openings.length > 0 ? openings[openings.length - 1].index : undefined;
}

function syntaxError(label: string, source: string, position: number, detail: string): MarketingError {
  const { line, column } = lineAndColumn(source, position);
  return new MarketingError('templateSyntax', `Template error in ${label} at line ${line}, column ${column}: ${detail}`, {
    template: label,
    line,
    column,
    detail,
  });
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(source: string, position: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(position, source.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (before.charCodeAt(i) === 10) line++;
  return { line, column: before.length - lineStart + 1 };
}
