/**
 * Providers' event webhooks, turned into consent events: Amazon SES notifications (through
 * Amazon SNS, an HTTPS subscription) and SendGrid's Event Webhook. Neither carries a
 * signature that can be checked without the raw request body or a certificate download, so
 * the suppress node requires HTTP Basic authentication (`https://user:password@host/path`,
 * which both providers support in the endpoint URL) before it reads them.
 *
 * Mapping:
 * | provider | event | consent event |
 * | --- | --- | --- |
 * | SES | Bounce, bounceType Permanent | hardBounce |
 * | SES | Bounce, bounceType Transient or Undetermined | softBounce |
 * | SES | Complaint | complaint |
 * | SES | Delivery, Send, Open, ... | (none) |
 * | SendGrid | bounce (type bounce or none) | hardBounce |
 * | SendGrid | bounce, type blocked; deferred | softBounce |
 * | SendGrid | dropped, reason Bounced Address | hardBounce |
 * | SendGrid | dropped, reason Spam Reporting Address; spamreport | complaint |
 * | SendGrid | dropped, reason Unsubscribed Address; unsubscribe; group_unsubscribe | unsubscribe |
 * | SendGrid | processed, delivered, open, click, other drops | (none) |
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isValidEmail, normaliseEmail } from '../segmentation/contacts';

export type ConsentEventKind = 'hardBounce' | 'softBounce' | 'complaint' | 'unsubscribe';

export interface ConsentEvent {
  email: string;
  kind: ConsentEventKind;
  /** The provider's words: bounce type, reason, diagnostic (one line, at most 300 characters). */
  detail: string;
  /** The Message-ID of the email the event is about, when the provider gives it. */
  messageId?: string;
}

export type WebhookPayload =
  | { provider: 'ses'; type: 'notification'; events: ConsentEvent[] }
  | { provider: 'ses'; type: 'subscriptionConfirmation'; subscribeUrl: string }
  | { provider: 'ses'; type: 'other' }
  | { provider: 'sendgrid'; events: ConsentEvent[] };

function line(value: unknown): string {
  return String(value ?? '').replace(/\s+/g, ' ').trim().slice(0, 300);
}

function event(email: unknown, kind: ConsentEventKind, detail: unknown, messageId?: unknown): ConsentEvent | undefined {
  if (typeof email !== 'string' || !isValidEmail(email)) return undefined;
  const id = typeof messageId === 'string' ? /<[^<>\s]+>/.exec(messageId)?.[0] ?? `<${messageId.trim()}>` : undefined;
  return { email: normaliseEmail(email), kind, detail: line(detail), ...(id && id !== '<>' ? { messageId: id } : {}) };
}

function parse(body: unknown): unknown {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      return JSON.parse(body.toString());
    } catch {
      return undefined;
    }
  }
  return body;
}

/** The SES events of one SES notification (the `Message` of an SNS notification). */
export function readSesMessage(message: unknown): ConsentEvent[] {
  const note = parse(message) as Record<string, unknown> | undefined;
  if (!note || typeof note !== 'object') return [];
  const type = note.notificationType ?? note.eventType;
  const mail = (note.mail ?? {}) as { messageId?: unknown; commonHeaders?: { messageId?: unknown }; headers?: Array<{ name?: unknown; value?: unknown }> };
  const messageId = mail.commonHeaders?.messageId
    ?? mail.headers?.find((header) => String(header.name).toLowerCase() === 'message-id')?.value;
  const events: Array<ConsentEvent | undefined> = [];
  if (type === 'Bounce') {
    const bounce = (note.bounce ?? {}) as { bounceType?: unknown; bounceSubType?: unknown; bouncedRecipients?: Array<Record<string, unknown>> };
    const kind: ConsentEventKind = bounce.bounceType === 'Permanent' ? 'hardBounce' : 'softBounce';
    for (const recipient of bounce.bouncedRecipients ?? []) {
      events.push(event(recipient.emailAddress, kind, `${line(bounce.bounceType)}/${line(bounce.bounceSubType)} ${line(recipient.diagnosticCode ?? recipient.status)}`, messageId));
    }
  } else if (type === 'Complaint') {
    const complaint = (note.complaint ?? {}) as { complaintFeedbackType?: unknown; complainedRecipients?: Array<Record<string, unknown>> };
    for (const recipient of complaint.complainedRecipients ?? []) {
      events.push(event(recipient.emailAddress, 'complaint', complaint.complaintFeedbackType ?? 'complaint', messageId));
    }
  }
  return events.filter((item): item is ConsentEvent => item !== undefined);
}

/** SendGrid's Event Webhook: an array of events. */
export function readSendGridEvents(body: unknown): ConsentEvent[] {
  const list = parse(body);
  if (!Array.isArray(list)) return [];
  const events: Array<ConsentEvent | undefined> = [];
  for (const item of list as Array<Record<string, unknown>>) {
    if (!item || typeof item !== 'object') continue;
    const messageId = item['smtp-id'];
    const reason = line(item.reason);
    switch (item.event) {
      case 'bounce':
        events.push(event(item.email, item.type === 'blocked' ? 'softBounce' : 'hardBounce', `${line(item.status)} ${reason}`, messageId));
        break;
      case 'deferred':
        events.push(event(item.email, 'softBounce', reason || line(item.response), messageId));
        break;
      case 'dropped':
        if (/^bounced address/i.test(reason)) events.push(event(item.email, 'hardBounce', reason, messageId));
        else if (/^spam reporting address/i.test(reason)) events.push(event(item.email, 'complaint', reason, messageId));
        else if (/^unsubscribed address/i.test(reason)) events.push(event(item.email, 'unsubscribe', reason, messageId));
        break;
      case 'spamreport':
        events.push(event(item.email, 'complaint', 'spamreport', messageId));
        break;
      case 'unsubscribe':
      case 'group_unsubscribe':
        events.push(event(item.email, 'unsubscribe', item.event, messageId));
        break;
      default:
        break;
    }
  }
  return events.filter((item): item is ConsentEvent => item !== undefined);
}

/** An SNS subscription's confirmation URL is Amazon's own, over HTTPS. */
export function isSnsUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(parsed.hostname) && !parsed.username && !parsed.port;
  } catch {
    return false;
  }
}

/**
 * What a webhook request is, from its headers and parsed body: an SNS message (header
 * `x-amz-sns-message-type`) or a SendGrid event array; undefined for anything else.
 */
export function readWebhook(headers: Record<string, unknown>, body: unknown): WebhookPayload | undefined {
  const snsType = headers['x-amz-sns-message-type'];
  if (typeof snsType === 'string') {
    const envelope = parse(body) as Record<string, unknown> | undefined;
    if (!envelope || typeof envelope !== 'object') return { provider: 'ses', type: 'other' };
    if (snsType === 'SubscriptionConfirmation' && isSnsUrl(envelope.SubscribeURL)) {
      return { provider: 'ses', type: 'subscriptionConfirmation', subscribeUrl: envelope.SubscribeURL };
    }
    if (snsType === 'Notification') return { provider: 'ses', type: 'notification', events: readSesMessage(envelope.Message) };
    return { provider: 'ses', type: 'other' };
  }
  const parsed = parse(body);
  if (Array.isArray(parsed) && parsed.some((item) => item && typeof item === 'object' && 'event' in item)) {
    return { provider: 'sendgrid', events: readSendGridEvents(parsed) };
  }
  return undefined;
}

/** Whether an `Authorization` header is HTTP Basic with `password` (any user name); compared in constant time. */
export function basicAuthMatches(authorization: unknown, password: string): boolean {
  if (!password || typeof authorization !== 'string') return false;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const given = decoded.slice(decoded.indexOf(':') + 1);
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(password)) && decoded.includes(':');
}
