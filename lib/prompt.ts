/**
 * Prompts for a campaign: which template a contact gets (by segment), what the template
 * sees (`contact`, `segment`, `msg`), and which Node-RED context values it refers to. The
 * `marketing-prompt` node and its editor preview both go through here.
 */
import { isContact, type Contact } from './segmentation/contacts';
import { MarketingError } from './errors';
import { compileTemplate, type CompiledTemplate, type MissingPolicy, type TemplateLookup, DEFAULT_MAX_VALUE_LENGTH, MISSING_POLICIES } from './template';

export interface SegmentTemplate {
  segment: string;
  template: string;
}

export interface NamedPartial {
  name: string;
  template: string;
}

export interface PromptSettings {
  /** Used for contacts whose segment has no template of its own. */
  template: string;
  segments?: SegmentTemplate[];
  partials?: NamedPartial[];
  missing?: MissingPolicy;
  maxValueLength?: number;
}

/** A template with the label its errors carry: `default` or the segment's name. */
export interface PromptTemplate {
  readonly label: string;
  readonly compiled: CompiledTemplate;
  /** The `flow.*`, `global.*` and `env.*` names it uses, to resolve before rendering. */
  readonly references: readonly ContextReference[];
}

export interface PromptTemplates {
  /** The template for a segment name, or the default one; `undefined` if there is none. */
  select(segmentName: string | undefined): PromptTemplate | undefined;
}

/** A template name that Node-RED resolves: `flow.x`, `global[store].x.y`, `env.NAME`. */
export interface ContextReference {
  readonly name: string;
  readonly scope: 'flow' | 'global' | 'env';
  /** The context store, for `flow[store].x`; `undefined` is the default store. */
  readonly store: string | undefined;
  /** The key within the scope: `x.y` for `flow.x.y`, `NAME` for `env.NAME`. */
  readonly key: string;
}

export interface PromptInput {
  contact: Contact;
  /** `msg.segment`, as the segment node sets it (`{name, index, size}`), or a bare name. */
  segment: unknown;
  segmentName: string | undefined;
}

export const DEFAULT_TEMPLATE_LABEL = 'default';

/** Reads settings as saved by the editor, with defaults for anything absent or invalid. */
export function normalisePromptSettings(raw: Record<string, unknown>): Required<PromptSettings> {
  const maxValueLength = Number(raw.maxValueLength);
  return {
    template: typeof raw.template === 'string' ? raw.template : '',
    segments: namedRows(raw.segments, 'segment').map(({ name, template }) => ({ segment: name, template })),
    partials: namedRows(raw.partials, 'name'),
    missing: MISSING_POLICIES.includes(raw.missing as MissingPolicy) ? (raw.missing as MissingPolicy) : 'empty',
    maxValueLength: raw.maxValueLength !== '' && Number.isFinite(maxValueLength) && maxValueLength >= 0
      ? Math.floor(maxValueLength) : DEFAULT_MAX_VALUE_LENGTH,
  };
}

/** Rows with a non-blank name, trimmed; a name already seen earlier in the table is ignored. */
function namedRows(value: unknown, nameField: string): { name: string; template: string }[] {
  if (!Array.isArray(value)) return [];
  const rows = new Map<string, string>();
  for (const row of value) {
    if (!isContact(row)) continue;
    const name = typeof row[nameField] === 'string' ? (row[nameField] as string).trim() : '';
    if (name !== '' && !rows.has(name)) rows.set(name, typeof row.template === 'string' ? row.template : '');
  }
  return [...rows].map(([name, template]) => ({ name, template }));
}

/**
 * Compiles the default template and every segment template once; throws the first
 * `templateSyntax` error, labelled `default`, with the segment's name, or `> partial`.
 */
export function compilePromptTemplates(settings: PromptSettings): PromptTemplates {
  const partials: Record<string, string> = {};
  for (const partial of settings.partials ?? []) partials[partial.name] = partial.template;
  const options = { partials, missing: settings.missing, maxValueLength: settings.maxValueLength, escape: 'none' as const };
  const compile = (label: string, source: string): PromptTemplate => {
    const compiled = compileTemplate(source, { ...options, name: label });
    return { label, compiled, references: contextReferences(compiled.names) };
  };

  const fallback = settings.template.trim() === '' ? undefined : compile(DEFAULT_TEMPLATE_LABEL, settings.template);
  const bySegment = new Map<string, PromptTemplate>();
  for (const row of settings.segments ?? []) bySegment.set(row.segment, compile(row.segment, row.template));
  return {
    select: (segmentName) => (segmentName === undefined ? undefined : bySegment.get(segmentName)) ?? fallback,
  };
}

const CONTEXT_NAME = /^(flow|global)(?:\[(\w+)\])?\.(.+)$/;
const ENV_NAME = /^env\.(.+)$/;

/** The names Node-RED resolves, the way the core Template node recognises them. */
export function contextReferences(names: readonly string[]): ContextReference[] {
  const references: ContextReference[] = [];
  for (const name of names) {
    const context = CONTEXT_NAME.exec(name);
    if (context) {
      references.push({ name, scope: context[1] as 'flow' | 'global', store: context[2], key: context[3] });
      continue;
    }
    const env = ENV_NAME.exec(name);
    if (env) references.push({ name, scope: 'env', store: undefined, key: env[1] });
  }
  return references;
}

/**
 * The contact and segment of a message: `msg.contact` (from `marketing-segment`), or else
 * `msg.payload` when it is one contact object.
 */
export function readPromptInput(msg: Record<string, unknown>): PromptInput {
  let contact: unknown = msg.contact;
  if (contact === undefined || contact === null) contact = msg.payload;
  if (Array.isArray(contact)) {
    throw new MarketingError('contactList', 'msg.payload is a list of contacts: send one contact per message (segment output "each contact", or a Split node)', {
      count: contact.length,
    });
  }
  if (!isContact(contact)) {
    throw new MarketingError('noContact', 'No contact: msg.contact or msg.payload must be a contact object', {
      type: contact === null ? 'null' : typeof contact,
    });
  }
  const segment = msg.segment;
  return { contact, segment, segmentName: segmentNameOf(segment) };
}

/** The name of `msg.segment`: the segment node's `{name}`, or a name given as text; trimmed. */
export function segmentNameOf(segment: unknown): string | undefined {
  if (typeof segment === 'string') return segment.trim();
  if (isContact(segment) && typeof segment.name === 'string') return segment.name.trim();
  return undefined;
}

/** The template of the input's segment, or the default one. */
export function selectPromptTemplate(templates: PromptTemplates, input: PromptInput): PromptTemplate {
  const template = templates.select(input.segmentName);
  if (template === undefined) {
    throw new MarketingError('noTemplate', `No template for segment "${input.segmentName ?? ''}" and no default template`, {
      segment: input.segmentName ?? '',
    });
  }
  return template;
}

/**
 * Renders one prompt. The template sees `contact`, `segment` (a bare segment name reads
 * as `{name}`) and `msg`; other names go to `lookup`.
 */
export function renderPrompt(
  template: PromptTemplate,
  input: PromptInput,
  msg: Record<string, unknown>,
  lookup?: TemplateLookup,
): string {
  const segment = typeof input.segment === 'string' ? { name: input.segmentName } : input.segment;
  return template.compiled.render({ contact: input.contact, segment, msg }, lookup);
}
