/**
 * Segmentation of a contact list: consent and hygiene first (opted out, suppressed, invalid
 * address, duplicate), optional RFM scoring, then named segments tested in order. Everything that
 * can be decided from the configuration is decided once, in `compileSegmentRules`, so that
 * a bad configuration fails at deploy time rather than on the first list.
 */
import { compileFieldPath, isContact, isOptedOutValue, normaliseEmail, validAddress, type Contact } from './contacts';
import { MarketingError } from '../errors';
import { compileRfmScoring, type RfmFields } from './rfm';
import { compileRuleGroup, type RuleGroup } from './segment-rules';

export interface SegmentDefinition extends RuleGroup {
  name: string;
}

export interface SegmentationConfig {
  segments: SegmentDefinition[];
  /** `first` (default): a contact joins the first segment it matches; `every`: all of them. */
  matchMode?: 'first' | 'every';
  /** Consent field (default `unsubscribed`); opted out when it reads as yes. `''` turns the check off. */
  optOutField?: string;
  /** Address field (default `email`): required valid, and the de-duplication key. `''` turns both off. */
  emailField?: string;
  /** Drop later contacts with an address already seen (default true; needs `emailField`). */
  dedupe?: boolean;
  /** RFM scoring fields; scoring is off when absent. */
  rfm?: RfmFields | null;
}

/** Why a contact reached no segment, in the order the checks run. */
export const NOT_TARGETED_REASONS = ['notAContact', 'optedOut', 'suppressed', 'frequencyCap', 'invalidEmail', 'duplicate', 'noSegment'] as const;
export type NotTargetedReason = (typeof NOT_TARGETED_REASONS)[number];

/** Contacts that reached no segment, in input order, with the reason of each (same index). */
export interface NotTargeted {
  contacts: unknown[];
  reasons: NotTargetedReason[];
}

export interface SegmentationOptions {
  /** Reference time of relative date conditions, ms since the epoch (default: now). */
  now?: number;
  /** Keep the not-targeted contacts with their reason (counts are always kept). */
  keepNotTargeted?: boolean;
  /**
   * Whether a (normalised, valid) address is on the suppression list (lib/consent/suppression.ts):
   * such a contact is not targeted, reason `suppressed`. Needs the address field.
   */
  isSuppressed?: (address: string) => boolean;
  /**
   * Whether a (normalised, valid) address got as many emails as the frequency cap allows
   * (lib/consent/frequency.ts): not targeted, reason `frequencyCap`, before any model time.
   */
  isCapped?: (address: string) => boolean;
}

export interface SegmentationResult {
  /** One list per segment, in configuration order; contacts keep their input order. */
  segments: Contact[][];
  /** Empty unless `keepNotTargeted`. */
  notTargeted: NotTargeted;
  notTargetedCounts: Record<NotTargetedReason, number>;
}

export interface Segmenter {
  readonly names: readonly string[];
  segment(contacts: readonly unknown[], options?: SegmentationOptions): SegmentationResult;
}

/**
 * A deep copy of a contact's plain data (objects, arrays, dates). Used when one contact
 * joins several segments, so that changing it in one segment's flow cannot change it in
 * another's. Other objects (class instances, buffers) are shared, not copied, and so are
 * frozen objects (such as the `rfm` scores): nothing can change them.
 */
export function cloneContact<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneContact) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Object.getPrototypeOf(value) === Object.prototype && !Object.isFrozen(value)) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key of Object.keys(copy)) {
      const field = copy[key];
      if (typeof field === 'object' && field !== null) copy[key] = cloneContact(field);
    }
    return copy as T;
  }
  return value;
}

function field(value: string | undefined, fallback: string): string {
  return (value ?? fallback).trim();
}

/** Compiles the segments' rules and the consent, hygiene and RFM settings, once per deploy. */
export function compileSegmentRules(config: SegmentationConfig): Segmenter {
  const segments = Array.isArray(config.segments) ? config.segments : [];
  const names = segments.map((segment, i) => (typeof segment.name === 'string' && segment.name.trim()) || `segment ${i + 1}`);
  const matchers = segments.map((segment, s) => compileRuleGroup(segment, names[s]));
  if (config.matchMode !== undefined && config.matchMode !== 'first' && config.matchMode !== 'every') {
    throw new MarketingError('badMatchMode', `Match mode "${String(config.matchMode)}" must be "first" or "every"`,
      { mode: String(config.matchMode) });
  }
  const matchEvery = config.matchMode === 'every';
  const optOutField = field(config.optOutField, 'unsubscribed');
  const emailField = field(config.emailField, 'email');
  const readOptOut = optOutField ? compileFieldPath(optOutField) : undefined;
  const readEmail = emailField ? compileFieldPath(emailField) : undefined;
  const dedupe = readEmail !== undefined && config.dedupe !== false;
  const scoreRfm = config.rfm ? compileRfmScoring(checkRfmFields(config.rfm)) : undefined;

  /** Consent and address checks: why each item is not targeted, or `undefined` while it still may be. */
  function hygiene(contacts: readonly unknown[], options: SegmentationOptions): (NotTargetedReason | undefined)[] {
    const { isSuppressed, isCapped } = options;
    /** Each contact's valid address as de-duplication compares it. */
    const addresses: (string | undefined)[] = [];
    const optedOutAddresses = new Set<string>();
    const reasons = contacts.map((contact): NotTargetedReason | undefined => {
      if (!isContact(contact)) {
        addresses.push(undefined);
        return 'notAContact';
      }
      const valid = readEmail ? validAddress(readEmail(contact)) : undefined;
      const address = valid === undefined ? undefined : normaliseEmail(valid);
      addresses.push(address);
      if (readOptOut && isOptedOutValue(readOptOut(contact))) {
        if (address !== undefined) optedOutAddresses.add(address);
        return 'optedOut';
      }
      if (address !== undefined && isSuppressed?.(address)) return 'suppressed';
      if (address !== undefined && isCapped?.(address)) return 'frequencyCap';
      return readEmail && address === undefined ? 'invalidEmail' : undefined;
    });
    if (!dedupe && optedOutAddresses.size === 0) return reasons;
    // Only addresses held by more than one record need a decision. Sorted, they are neighbours:
    // a sort finds them for much less than a Set of every address of a large list would cost.
    const sorted = addresses.filter((address) => address !== undefined).sort();
    const shared = new Set(sorted.filter((address, k) => k > 0 && address === sorted[k - 1]));
    const kept = new Set<string>();
    addresses.forEach((address, i) => {
      if (address === undefined || !shared.has(address)) return;
      // An address opted out in any record is opted out in all of them, earlier ones too;
      // otherwise the first record of an address is the one kept.
      if (optedOutAddresses.has(address)) reasons[i] = 'optedOut';
      else if (reasons[i] === 'suppressed' || reasons[i] === 'frequencyCap' || !dedupe) return;
      else if (kept.has(address)) reasons[i] = 'duplicate';
      else kept.add(address);
    });
    return reasons;
  }

  function segment(contacts: readonly unknown[], options: SegmentationOptions = {}): SegmentationResult {
    const now = options.now ?? Date.now();
    const keep = options.keepNotTargeted === true;
    const reasons = hygiene(contacts, options);
    // Scores rank every contact of the list, so they are all set before any rule reads `rfm`.
    const rfm = scoreRfm?.(contacts);
    const lists: Contact[][] = segments.map(() => []);
    const notTargeted: NotTargeted = { contacts: [], reasons: [] };
    const notTargetedCounts = Object.fromEntries(NOT_TARGETED_REASONS.map((reason) => [reason, 0])) as Record<NotTargetedReason, number>;
    contacts.forEach((item, i) => {
      let reason = reasons[i];
      if (reason !== 'notAContact') {
        const contact = item as Contact;
        if (rfm) contact.rfm = rfm.scoreAt(i);
        if (reason === undefined && !place(contact, lists, now)) reason = 'noSegment';
      }
      if (reason === undefined) return;
      notTargetedCounts[reason]++;
      if (keep) {
        notTargeted.contacts.push(item);
        notTargeted.reasons.push(reason);
      }
    });
    return { segments: lists, notTargeted, notTargetedCounts };
  }

  /**
   * Adds the contact to the list of the first segment it matches, or of each one: the first
   * gets the contact itself, the others a copy. False when it matched none.
   */
  function place(contact: Contact, lists: Contact[][], now: number): boolean {
    let placed = false;
    for (let s = 0; s < matchers.length; s++) {
      if (!matchers[s](contact, now)) continue;
      lists[s].push(placed ? cloneContact(contact) : contact);
      placed = true;
      if (!matchEvery) break;
    }
    return placed;
  }

  return { names, segment };
}

function checkRfmFields(fields: RfmFields): RfmFields {
  for (const which of ['recency', 'frequency', 'monetary'] as const) {
    if (typeof fields[which] !== 'string' || fields[which].trim() === '') {
      throw new MarketingError('missingRfmField', `RFM scoring needs the ${which} field`, { which });
    }
  }
  return { recency: fields.recency.trim(), frequency: fields.frequency.trim(), monetary: fields.monetary.trim() };
}
