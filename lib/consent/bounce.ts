/**
 * Bounce messages: RFC 3464 delivery status notifications (DSNs), as Postfix, Exim,
 * Exchange and Gmail send them back to the envelope sender, turned into hard and soft
 * bounce events per recipient.
 *
 * A DSN is a `multipart/report; report-type=delivery-status` message whose
 * `message/delivery-status` part holds one block of fields per recipient (`Final-Recipient`,
 * `Action`, `Status`, `Diagnostic-Code`). mailparser decodes the message and gives that part
 * as text (after the human-readable part), which is also what Node-RED's e-mail In node puts
 * in `msg.payload`; so both a raw message and the text of a parsed one are read the same way:
 * the field blocks are looked for in the text.
 *
 * Classification (`classifyBounce`):
 * - `Action: delayed`, or a 4.x.x status: a soft bounce (the server will try again, or the
 *   failure is temporary);
 * - `Action: failed` with a status that says the address is bad: 5.1.x (no such user, bad
 *   address or domain), 5.2.1 (mailbox disabled), 5.4.4 (no route to the domain), and for the
 *   catch-all 5.0.0 a diagnostic that says the user or mailbox does not exist: a hard bounce;
 * - any other `failed` (5.2.2 mailbox full, 5.3.4 too big, 5.7.x refused by policy or as
 *   spam, ...): a soft bounce, since the address itself may be fine;
 * - `delivered`, `relayed`, `expanded`: not a bounce.
 */
import { simpleParser } from 'mailparser';
import { isValidEmail, normaliseEmail } from '../segmentation/contacts';

export type BounceKind = 'hardBounce' | 'softBounce';

export interface BounceEvent {
  /** The bounced recipient, normalised. */
  email: string;
  kind: BounceKind;
  /** The DSN's `Action` (`failed`, `delayed`). */
  action: string;
  /** The enhanced status code (RFC 3463), e.g. `5.1.1`; '' when the DSN gives none. */
  status: string;
  /** The remote server's reply, when given (`Diagnostic-Code`), one line. */
  diagnostic: string;
}

export interface BounceReport {
  /** Whether the text held delivery-status fields at all. */
  isDeliveryStatus: boolean;
  events: BounceEvent[];
  /** The Message-ID of the returned message (from its headers in the DSN), if present. */
  originalMessageId?: string;
}

/** The largest message or text looked at: a DSN with the returned message's headers is a few KB. */
export const MAX_BOUNCE_BYTES = 1024 * 1024;

const USER_UNKNOWN = /user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|invalid (recipient|mailbox|address)|recipient address rejected|mailbox (unavailable|not found)|address rejected|not a valid mailbox|account (has been )?disabled/i;

/** Hard or soft, or undefined for a report that is not a bounce (delivered, relayed). */
export function classifyBounce(action: string, status: string, diagnostic: string): BounceKind | undefined {
  const act = action.trim().toLowerCase();
  if (act === 'delivered' || act === 'relayed' || act === 'expanded') return undefined;
  const code = status.trim() || /\b([245])\.\d{1,3}\.\d{1,3}\b/.exec(diagnostic)?.[0] || (/\b([45])\d\d\b/.exec(diagnostic)?.[1] ?? '');
  const [klass, subject, detail] = code.split('.');
  if (act === 'delayed' || klass === '4') return 'softBounce';
  if (act !== 'failed' && klass !== '5') return undefined;
  if (subject === '1') return 'hardBounce';
  if (subject === '2' && detail === '1') return 'hardBounce';
  if (subject === '4' && detail === '4') return 'hardBounce';
  if ((subject === undefined || (subject === '0' && detail === '0')) && USER_UNKNOWN.test(diagnostic)) return 'hardBounce';
  return 'softBounce';
}

/** The field blocks of a text: each paragraph's `Name: value` lines, continuation lines unfolded. */
function fieldBlocks(text: string): Array<Map<string, string>> {
  const blocks: Array<Map<string, string>> = [];
  for (const paragraph of text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of paragraph.split('\n')) {
      if (/^[ \t]/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (!match) {
        last = undefined;
        continue;
      }
      last = match[1].toLowerCase();
      if (!fields.has(last)) fields.set(last, match[2].trim());
    }
    if (fields.size) blocks.push(fields);
  }
  return blocks;
}

/** `rfc822; Ann@Example.com` -> `ann@example.com` (undefined for another address type or a bad address). */
function recipientOf(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const semicolon = field.indexOf(';');
  const type = semicolon === -1 ? 'rfc822' : field.slice(0, semicolon).trim().toLowerCase();
  const address = (semicolon === -1 ? field : field.slice(semicolon + 1)).trim().replace(/^<|>$/g, '');
  if (type !== 'rfc822' || !isValidEmail(address)) return undefined;
  return normaliseEmail(address);
}

/** The bounce events of a DSN's text (the decoded message, or the text of an already parsed one). */
export function readDeliveryStatus(text: string): BounceReport {
  const events: BounceEvent[] = [];
  const seen = new Set<string>();
  let isDeliveryStatus = false;
  for (const fields of fieldBlocks(text.slice(0, MAX_BOUNCE_BYTES))) {
    if (fields.has('reporting-mta')) isDeliveryStatus = true;
    const email = recipientOf(fields.get('final-recipient')) ?? recipientOf(fields.get('original-recipient'));
    const action = fields.get('action');
    if (!email || action === undefined) continue;
    isDeliveryStatus = true;
    const status = /^\d\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0] ?? '';
    const diagnostic = (fields.get('diagnostic-code') ?? '').replace(/^[a-z-]+;\s*/i, '').slice(0, 500);
    const kind = classifyBounce(action, status, diagnostic);
    if (!kind || seen.has(`${email} ${kind}`)) continue;
    seen.add(`${email} ${kind}`);
    events.push({ email, kind, action: action.toLowerCase(), status, diagnostic });
  }
  return { isDeliveryStatus, events };
}

/** Reads a raw bounce message (RFC 5322, MIME): its DSN fields and the returned message's Message-ID. */
export async function readBounceMessage(raw: Buffer | string): Promise<BounceReport> {
  const source = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const parsed = await simpleParser(source.subarray(0, MAX_BOUNCE_BYTES), { skipHtmlToText: true, skipImageLinks: true, skipTextLinks: true });
  const report = readDeliveryStatus(parsed.text ?? '');
  for (const attachment of parsed.attachments) {
    if (!/^(text\/rfc822-headers|message\/rfc822)$/i.test(attachment.contentType)) continue;
    const id = /^Message-ID:\s*(<[^>\s]+>)/im.exec(attachment.content.toString('utf8'))?.[1];
    if (id) {
      report.originalMessageId = id;
      break;
    }
  }
  return report;
}
