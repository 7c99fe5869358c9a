/**
 * The package's one templating module: mustache templates for prompts (plain text) and for
 * email subjects and bodies (plain text, or HTML with escaped values).
 *
 * `mustache` parses the template (its grammar, delimiter changes, standalone lines and
 * partial indentation are the library's); the parsed tokens are then compiled once into
 * closures that render with mustache's semantics plus what campaigns need:
 *
 * - every inserted value (`{{x}}`, `{{{x}}}`, `{{& x}}`) is turned into text, stripped of
 *   control characters other than newline and tab (those too become spaces with
 *   `singleLine`, for subjects), and capped in length;
 * - `escape: 'html'` escapes `{{x}}` values (mustache's own escaper); `{{{x}}}` stays raw;
 *   `escape: 'none'` never escapes (`O'Brien & Co` stays `O'Brien & Co`);
 * - a per-variable default, `{{contact.firstName|there}}`, used by the `default` and `error`
 *   missing-variable policies;
 * - names the context lacks (`flow.x`, `global.x`, `env.X`) are asked of a `lookup` callback;
 * - partials are parsed and checked (unknown names, cycles) when the template is compiled.
 *
 * Mustache's own renderer re-resolves every name through a context cache per render; this
 * one resolves pre-split paths directly, which is what makes a few hundred thousand
 * renders a second possible (see bench/prompt.ts).
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

type Token = [string, string, number, number, ...unknown[]];

interface Scope {
  readonly view: unknown;
  readonly parent: Scope | undefined;
}

interface RenderState {
  readonly lookup: TemplateLookup | undefined;
  /** Names of missing variables without a default, collected under the `error` policy. */
  missing: string[] | undefined;
}

type Part = string | ((scope: Scope, state: RenderState) => string);

/** A path that is not in the context (distinct from a present `undefined` value). */
const NOT_FOUND = Symbol('notFound');

// C0 and C1 control characters except tab (\t, U+0009) and newline (\n, U+000A).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'g');
const LINE_BREAK_OR_TAB = /[\n\t\u2028\u2029]/;
const LINE_BREAKS_AND_TABS = /[\n\t\u2028\u2029]+/g;
const NON_BLANK = /\S/;
/** What follows a tag that stands alone on its line: blanks, then the line break. */
const STANDALONE_LINE_END = /[ \t]*\r?\n/y;

/** Parses and checks `source` once; the result renders any number of contexts. */
export function compileTemplate(source: string, options: TemplateOptions = {}): CompiledTemplate {
  const compiler = new TemplateCompiler(options);
  const parts = compiler.compileSource(source, options.name ?? '');
  compiler.checkAllPartials();
  const names = [...compiler.names];
  const missingPolicy = options.missing ?? 'empty';
  return {
    names,
    render(context, lookup) {
      const state: RenderState = { lookup, missing: missingPolicy === 'error' ? [] : undefined };
      const text = renderParts(parts, { view: context, parent: undefined }, state);
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

class TemplateCompiler {
  readonly names = new Set<string>();
  private readonly partials: Record<string, string>;
  private readonly escape: boolean;
  private readonly missing: MissingPolicy;
  private readonly maxValueLength: number;
  private readonly singleLine: boolean;
  /** Partials whose syntax has been checked, so each is parsed for errors once. */
  private readonly checkedPartials = new Set<string>();
  /** The partials being expanded, innermost last, to refuse partials that include each other. */
  private readonly partialStack: string[] = [];
  /** Compiled partials by name and indentation, so a partial used many times compiles once. */
  private readonly compiledPartials = new Map<string, Part[]>();

  constructor(options: TemplateOptions) {
    this.partials = options.partials ?? {};
    this.escape = (options.escape ?? 'none') === 'html';
    this.missing = options.missing ?? 'empty';
    const cap = options.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
    this.maxValueLength = Number.isFinite(cap) && cap > 0 ? Math.floor(cap) : 0;
    this.singleLine = options.singleLine ?? false;
  }

  /** `label` names the text in syntax errors: the template's name, or `> partial`. */
  compileSource(source: string, label: string): Part[] {
    return this.compileTokens(parseTemplate(source, label), source, label);
  }

  /** Partials no template uses still get their syntax checked, so a deploy reports them. */
  checkAllPartials(): void {
    for (const name of Object.keys(this.partials)) this.checkPartial(name);
  }

  private checkPartial(name: string): void {
    if (this.checkedPartials.has(name)) return;
    this.checkedPartials.add(name);
    this.partialStack.push(name);
    this.compileSource(this.partials[name], `> ${name}`);
    this.partialStack.pop();
  }

  private compileTokens(tokens: Token[], source: string, label: string): Part[] {
    const parts: Part[] = [];
    for (const token of tokens) {
      const [type, value] = token;
      switch (type) {
        case 'text':
          if (typeof parts[parts.length - 1] === 'string') parts[parts.length - 1] += value;
          else parts.push(value);
          break;
        case 'name':
          parts.push(this.compileValue(value, this.escape));
          break;
        case '&':
          parts.push(this.compileValue(value, false));
          break;
        case '#':
        case '^':
          parts.push(this.compileSection(type, value, this.compileTokens(token[4] as Token[], source, label)));
          break;
        case '>':
          parts.push(...this.compilePartial(token, source, label));
          break;
        default: // comments and delimiter changes render nothing
      }
    }
    return parts;
  }

  private compileValue(tag: string, escape: boolean): Part {
    const bar = tag.indexOf('|');
    const name = (bar < 0 ? tag : tag.slice(0, bar)).trim();
    const written = bar < 0 ? undefined : tag.slice(bar + 1).trim();
    this.names.add(name);
    const path = compilePath(name);
    const maxLength = this.maxValueLength;
    const singleLine = this.singleLine;
    const policy = this.missing;
    const fallback = written === undefined || !escape ? written : Mustache.escape(written);

    return (scope, state) => {
      const value = resolve(scope, path, name, state.lookup);
      const text = value === NOT_FOUND ? '' : valueToText(value, maxLength, singleLine);
      if (policy === 'empty' || NON_BLANK.test(text)) return escape ? Mustache.escape(text) : text;
      if (fallback !== undefined) return fallback;
      if (policy === 'error') state.missing?.push(name);
      return '';
    };
  }

  private compileSection(type: string, name: string, inner: Part[]): Part {
    this.names.add(name);
    const path = compilePath(name);
    if (type === '^') {
      return (scope, state) => {
        const value = resolve(scope, path, name, state.lookup);
        return isFalsy(value) || (Array.isArray(value) && value.length === 0) ? renderParts(inner, scope, state) : '';
      };
    }
    return (scope, state) => {
      const value = resolve(scope, path, name, state.lookup);
      if (isFalsy(value)) return '';
      if (Array.isArray(value)) {
        let text = '';
        for (const item of value) text += renderParts(inner, { view: item, parent: scope }, state);
        return text;
      }
      if (value === true) return renderParts(inner, scope, state);
      return renderParts(inner, { view: value, parent: scope }, state);
    };
  }

  /**
   * A partial is inlined where it is used, indented the way mustache indents a standalone
   * partial tag (so a partial on its own indented line keeps the indentation on each line).
   * One difference from mustache: a partial tag alone on its line replaces the line with the
   * partial's lines, so the line break stays even if the partial's text does not end with
   * one (mustache would join `{{> brand}}` and the next line, a surprise in a prompt).
   */
  private compilePartial(token: Token, source: string, label: string): Part[] {
    const name = token[1];
    const [, , start, end, indentation, tagIndex, lineHasNonSpace] = token as [
      string, string, number, number, string, number, boolean,
    ];
    if (!Object.hasOwn(this.partials, name)) {
      throw syntaxError(label, source, start, `unknown partial "${name}"`);
    }
    if (this.partialStack.includes(name)) {
      const cycle = [...this.partialStack.slice(this.partialStack.indexOf(name)), name].join(' > ');
      throw syntaxError(label, source, start, `partials include each other: ${cycle}`);
    }
    this.checkPartial(name);
    let text = this.partials[name];
    STANDALONE_LINE_END.lastIndex = end;
    const standalone = tagIndex === 0 && !lineHasNonSpace && STANDALONE_LINE_END.test(source);
    if (standalone && !text.endsWith('\n')) text += '\n';
    if (tagIndex === 0 && indentation) text = indentPartial(text, indentation, lineHasNonSpace);
    const key = `${name}\u0000${text}`;
    let parts = this.compiledPartials.get(key);
    if (parts === undefined) {
      this.partialStack.push(name);
      parts = this.compileSource(text, `> ${name}`);
      this.partialStack.pop();
      this.compiledPartials.set(key, parts);
    }
    return parts;
  }
}

/** Mustache's rule: every line but a non-blank first one gets the tag's indentation. */
function indentPartial(text: string, indentation: string, lineHasNonSpace: boolean): string {
  const indent = indentation.replace(/[^ \t]/g, '');
  return text
    .split('\n')
    .map((line, index) => (line.length > 0 && (index > 0 || !lineHasNonSpace) ? indent + line : line))
    .join('\n');
}

function renderParts(parts: Part[], scope: Scope, state: RenderState): string {
  let text = '';
  for (const part of parts) text += typeof part === 'string' ? part : part(scope, state);
  return text;
}

/** A name split once: `a.b.c` -> keys; `.` (the current item) has none. */
interface Path {
  readonly keys: readonly string[];
  /**
   * Whether a key is also an inherited property of plain objects, arrays, strings or
   * functions (`constructor`, `toString`, `length`...): only then does reading it need
   * the slower own-property check, so that templates never reach prototypes.
   */
  readonly guarded: boolean;
}

const INHERITED_NAMES = new Set(
  [Object.prototype, Array.prototype, String.prototype, Function.prototype].flatMap((proto) => Object.getOwnPropertyNames(proto)),
);
INHERITED_NAMES.add('__proto__');

function compilePath(name: string): Path {
  const keys = name === '.' ? [] : name.split('.');
  return { keys, guarded: keys.some((key) => INHERITED_NAMES.has(key)) };
}

/**
 * Mustache's lookup: the innermost section view that has the whole path wins, then the
 * outer ones, then `lookup`. Built-in members (`constructor`, `length`...) count only as
 * own properties.
 */
function resolve(scope: Scope, path: Path, name: string, lookup: TemplateLookup | undefined): unknown {
  if (path.keys.length === 0) return scope.view;
  for (let current: Scope | undefined = scope; current !== undefined; current = current.parent) {
    const value = readPath(current.view, path);
    if (value !== NOT_FOUND) return value;
  }
  if (lookup === undefined) return NOT_FOUND;
  const value = lookup(name);
  return value === undefined ? NOT_FOUND : value;
}

/** Like mustache, a view that is not an object has no names (`{{#name}}{{length}}{{/name}}`). */
function readPath(view: unknown, path: Path): unknown {
  if (typeof view !== 'object' || view === null) return NOT_FOUND;
  let value: unknown = view;
  for (const key of path.keys) {
    if (value === null || value === undefined) return NOT_FOUND;
    const next = (value as Record<string, unknown>)[key];
    if (next === undefined || (path.guarded && !Object.hasOwn(Object(value), key))) return NOT_FOUND;
    value = next;
  }
  return value;
}

function isFalsy(value: unknown): boolean {
  return value === NOT_FOUND || !value || typeof value === 'function';
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

/** Mustache's parser, on a private writer so templates do not pile up in its global cache. */
const parser = new Mustache.Writer();
(parser as { templateCache?: unknown }).templateCache = undefined;

function parseTemplate(source: string, label: string): Token[] {
  try {
    return parser.parse(source) as unknown as Token[];
  } catch (err) {
    throw explainParseError(label, source, err instanceof Error ? err.message : String(err));
  }
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
  const where = label ? `${label}, line ${line}, column ${column}` : `line ${line}, column ${column}`;
  return new MarketingError('templateSyntax', `Template error (${where}): ${detail}`, {
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
