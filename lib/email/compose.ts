/**
 * Turns an incoming Node-RED message into the email to send (or the reason not to send
 * one): recipient and consent from the contact, subject and bodies from the shared
 * templates, unsubscribe headers (RFC 2369, RFC 8058), and every check that must happen
 * before a connection is made (address syntax, header injection, size).
 */
import { createHash } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import { compileFieldPath, isContact, isOptedOutValue, isValidEmail, normaliseEmail, type Contact } from '../segmentation/contacts';
import { MarketingError, truncate } from '../errors';
import { compileTemplate, type CompiledTemplate, type TemplateLookup } from '../template';

export interface EmailTemplates {
  subject: string;
  /** Plain-text body; `{{payload}}` (the generated copy) when empty. */
  text: string;
  /** HTML body; none when empty. Inserted values are HTML-escaped. */
  html: string;
  /** Per-contact unsubscribe URL (https or mailto); no unsubscribe headers when empty. */
  unsubscribeUrl: string;
}

export interface ComposeSettings {
  from: string;
  fromName: string;
  replyTo: string;
  /** Field of `msg.contact` holding the address (a path such as `emails.work` works). */
  recipientField: string;
  /** Field of `msg.contact` holding the recipient's display name; '' for none. */
  nameField: string;
  /** Field of `msg.contact` that marks an opt-out (the segment node's rule). */
  optOutField: string;
  /** Largest subject + bodies, in bytes, before encoding. */
  maxBytes: number;
  /** Give each message a Message-ID derived from its idempotency key (campaign + recipient). */
  stableMessageId: boolean;
  /**
   * Makes the signed unsubscribe token (lib/consent/token.ts) of a normalised address in a
   * campaign, offered to the templates as `unsubscribeToken`; none when no secret is set.
   */
  unsubscribeToken?: (to: string, campaign: string) => string;
}

export const DEFAULT_TEXT_TEMPLATE = '{{payload}}';

export const DEFAULT_COMPOSE_SETTINGS: ComposeSettings = {
  from: '',
  fromName: '',
  replyTo: '',
  recipientField: 'email',
  nameField: 'name',
  optOutField: 'unsubscribed',
  maxBytes: 2 * 1024 * 1024,
  stableMessageId: true,
};

export type Composition =
  | { kind: 'skip'; reason: 'optedOut'; to?: string }
  | { kind: 'mail'; to: string; mail: SendMailOptions };

const LINE_BREAK = /[\r\n]/;
/** The template variable holding the signed unsubscribe token. */
export const UNSUBSCRIBE_TOKEN = 'unsubscribeToken';
const UNSUBSCRIBE_URL = /^(https?:\/\/|mailto:)[^\s<>"]+$/i;

/**
 * The most characters a template may put into the subject: RFC 5322's limit on a header
 * line. nodemailer folds the subject into lines of at most 78 characters (see `foldable`).
 */
export const MAX_SUBJECT = 998;
/**
 * The most characters of a display name (the recipient's, the sender's). nodemailer folds
 * names at spaces and sends non-ASCII names as short encoded words, but quotes an ASCII name
 * as one string: a name without spaces stays on one line, which this cap keeps far below
 * RFC 5322's 998.
 */
export const MAX_DISPLAY_NAME = 200;
/**
 * The most characters of an unsubscribe URL. A URL has no spaces to fold at, so the whole
 * `List-Unsubscribe: <url>` line must stay within RFC 5322's 998.
 */
export const MAX_UNSUBSCRIBE_URL = 900;

/**
 * nodemailer folds header lines at spaces only, so a longer run of non-blank characters would
 * stay one long line; such a subject is sent as RFC 2047 encoded words instead (of at most 52
 * encoded characters, as nodemailer makes them for non-ASCII text), which fold between words.
 * 60 leaves room for `Subject: ` within 78 characters.
 */
const UNFOLDABLE = /\S{61}/;

function rejectLineBreaks(field: string, value: string): void {
  if (LINE_BREAK.test(value)) {
    throw new MarketingError('headerInjection', `Line break in the ${field} header`, { field });
  }
}

function rejectLongHeader(field: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw new MarketingError('headerTooLong', `The ${field} is ${value.length} characters long, more than the limit of ${limit}`, {
      field,
      length: value.length,
      limit,
    });
  }
}

/** A subject nodemailer can fold within 78 characters: as it is, or as encoded words. */
function foldable(subject: string): string {
  return UNFOLDABLE.test(subject) ? encodeWord(subject, 'Q', 52) : subject;
}

function shorten(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return truncate(text, 80);
}

/** Copies `value` with every string percent-encoded, for inserting into a URL. */
function encodeForUrl(value: unknown): unknown {
  if (typeof value === 'string') return encodeURIComponent(value);
  if (Array.isArray(value)) return value.map(encodeForUrl);
  if (isContact(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) copy[key] = encodeForUrl(inner);
    return copy;
  }
  return value;
}

export class EmailComposer {
  private readonly settings: ComposeSettings;
  private readonly subject: CompiledTemplate;
  private readonly text: CompiledTemplate;
  private readonly html: CompiledTemplate | undefined;
  private readonly unsubscribeUrl: CompiledTemplate | undefined;
  private readonly readRecipient: (contact: unknown) => unknown;
  private readonly readName: ((contact: unknown) => unknown) | undefined;
  private readonly readOptOut: (contact: unknown) => unknown;
  private readonly fromDomain: string;
  /** Every name the templates use (for resolving `flow.*`, `global.*`, `env.*` beforehand). */
  readonly names: readonly string[];

  /** Compiles the templates and checks the sender settings; throws what a deploy must report. */
  constructor(templates: EmailTemplates, settings: ComposeSettings) {
    this.settings = settings;
    if (!isValidEmail(settings.from)) {
      throw new MarketingError('invalidFrom', `Invalid sender address: ${shorten(settings.from)}`, { address: shorten(settings.from) });
    }
    rejectLineBreaks('from name', settings.fromName);
    rejectLongHeader('from name', settings.fromName.trim(), MAX_DISPLAY_NAME);
    if (settings.replyTo && !isValidEmail(settings.replyTo)) {
      throw new MarketingError('invalidReplyTo', `Invalid reply-to address: ${shorten(settings.replyTo)}`, { address: shorten(settings.replyTo) });
    }
    // Email bodies are long by nature: no per-value cap; the whole message is capped instead.
    const plain = { escape: 'none', missing: 'default', maxValueLength: 0 } as const;
    // A subject is one header line: line breaks in inserted values become spaces, so that a
    // value (a generated line, a contact field) can never start a new header.
    this.subject = compileTemplate(templates.subject, { ...plain, singleLine: true, name: 'subject' });
    this.text = compileTemplate(templates.text || DEFAULT_TEXT_TEMPLATE, { ...plain, name: 'text' });
    this.html = templates.html.trim()
      ? compileTemplate(templates.html, { escape: 'html', missing: 'default', maxValueLength: 0, name: 'html' })
      : undefined;
    this.unsubscribeUrl = templates.unsubscribeUrl.trim()
      ? compileTemplate(templates.unsubscribeUrl.trim(), { ...plain, name: 'unsubscribeUrl' })
      : undefined;
    this.readRecipient = compileFieldPath(settings.recipientField || 'email');
    this.readName = settings.nameField ? compileFieldPath(settings.nameField) : undefined;
    this.readOptOut = compileFieldPath(settings.optOutField || 'unsubscribed');
    this.fromDomain = settings.from.trim().slice(settings.from.trim().lastIndexOf('@') + 1).toLowerCase();
    const templatesUsed = [this.subject, this.text, this.html, this.unsubscribeUrl].filter((t): t is CompiledTemplate => t !== undefined);
    this.names = [...new Set(templatesUsed.flatMap((template) => template.names))];
    if (!settings.unsubscribeToken && this.names.includes(UNSUBSCRIBE_TOKEN)) {
      throw new MarketingError('noUnsubscribeSecret', 'The templates use {{unsubscribeToken}}, but no unsubscribe secret is set', {});
    }
  }

  /**
   * The email for `msg` in `campaign`, or why none is sent. Throws a MarketingError for a
   * message that cannot be sent as it is (no or invalid recipient, header injection, too
   * large, template error).
   */
  compose(msg: Record<string, unknown>, campaign: string, lookup?: TemplateLookup): Composition {
    const rawContact = msg.contact;
    if (rawContact !== undefined && !isContact(rawContact)) {
      throw new MarketingError('invalidContact', `msg.contact must be an object, not ${shorten(rawContact)}`, { value: shorten(rawContact) });
    }
    const contact: Contact | undefined = rawContact;
    const fromContact = contact === undefined ? undefined : this.readRecipient(contact);
    const address = fromContact === undefined || fromContact === null || fromContact === '' ? msg.to : fromContact;
    if (contact !== undefined && isOptedOutValue(this.readOptOut(contact))) {
      return { kind: 'skip', reason: 'optedOut', to: typeof address === 'string' ? normaliseEmail(address) : undefined };
    }
    if (address === undefined || address === null || address === '') {
      throw new MarketingError('noRecipient', 'No recipient: neither the contact nor msg.to has an address');
    }
    if (!isValidEmail(address)) {
      throw new MarketingError('invalidAddress', `Invalid recipient address: ${shorten(address)}`, { address: shorten(address) });
    }
    const to = normaliseEmail(address);
    const rawName = this.readName && contact ? this.readName(contact) : undefined;
    const name = typeof rawName === 'string' ? rawName.trim() : '';
    rejectLineBreaks('recipient name', name);
    rejectLongHeader('recipient name', name, MAX_DISPLAY_NAME);

    const context: Record<string, unknown> = {
      contact: contact ?? {},
      segment: msg.segment,
      payload: msg.payload,
      msg,
      campaign,
      email: address.trim(),
    };
    const token = this.settings.unsubscribeToken?.(to, campaign);
    if (token !== undefined) context[UNSUBSCRIBE_TOKEN] = token;
    let unsubscribeUrl: string | undefined;
    if (this.unsubscribeUrl) {
      const urlContext: Record<string, unknown> = {
        contact: encodeForUrl(contact ?? {}),
        segment: encodeForUrl(msg.segment),
        campaign: encodeURIComponent(campaign),
        email: encodeURIComponent(address.trim()),
      };
      // base64url: nothing to encode
      if (token !== undefined) urlContext[UNSUBSCRIBE_TOKEN] = token;
      const urlLookup: TemplateLookup | undefined = lookup && ((key) => encodeForUrl(lookup(key)));
      unsubscribeUrl = this.unsubscribeUrl.render(urlContext, urlLookup).trim();
      rejectLongHeader('unsubscribe URL', unsubscribeUrl, MAX_UNSUBSCRIBE_URL);
      if (!UNSUBSCRIBE_URL.test(unsubscribeUrl)) {
        throw new MarketingError('invalidUnsubscribeUrl', `Invalid unsubscribe URL: ${shorten(unsubscribeUrl)}`, { url: shorten(unsubscribeUrl) });
      }
      context.unsubscribeUrl = unsubscribeUrl;
    }

    const subject = this.subject.render(context, lookup).trim();
    rejectLineBreaks('subject', subject);
    rejectLongHeader('subject', subject, MAX_SUBJECT);
    const text = this.text.render(context, lookup);
    const html = this.html?.render(context, lookup);
    const size = Buffer.byteLength(subject) + Buffer.byteLength(text) + (html ? Buffer.byteLength(html) : 0);
    if (size > this.settings.maxBytes) {
      throw new MarketingError('tooLarge', `The message is ${size} bytes, more than the limit of ${this.settings.maxBytes}`, {
        size,
        limit: this.settings.maxBytes,
      });
    }

    const mail: SendMailOptions = {
      from: { name: this.settings.fromName.trim(), address: this.settings.from.trim() },
      to: name ? { name, address: address.trim() } : address.trim(),
      subject: foldable(subject),
      text,
    };
    if (html !== undefined) mail.html = html;
    if (this.settings.replyTo) mail.replyTo = this.settings.replyTo.trim();
    if (this.settings.stableMessageId) mail.messageId = this.messageIdFor(campaign, to);
    if (unsubscribeUrl) {
      mail.list = { unsubscribe: unsubscribeUrl };
      // RFC 8058 one-click unsubscription is defined for HTTPS URLs only.
      if (/^https:/i.test(unsubscribeUrl)) mail.headers = { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
    }
    return { kind: 'mail', to, mail };
  }

  /**
   * The same Message-ID for every attempt at the same key, so that a resend after a crash
   * (when allowed) can be recognised as the same message by the receiving side.
   */
  private messageIdFor(campaign: string, to: string): string {
    const digest = createHash('sha256').update(campaign).update('\u0000').update(to).digest('hex').slice(0, 32);
    return `<${digest}@${this.fromDomain}>`;
  }
}
