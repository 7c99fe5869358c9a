/**
 * Segmentation of a contact list: consent and hygiene first (opted out, invalid address,
 * duplicate), optional RFM scoring, then named segments tested in order. Everything that
 * can be decided from the configuration is decided once, in `compileSegmentRules`.
 */
import { AddressSet, addressHash, repeatedAddresses } from './address-set';
import { compileFieldPath, isContact, isOptedOutValue, validAddress, type Contact } from './contacts';
import { MarketingError } from './errors';
import { compileRfmCollector, type RfmFields } from './rfm';
import { compileRuleGroup, type ContactPredicate, type RuleGroup } from './segment-rules';

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
export const NOT_TARGETED_REASONS = ['notAContact', 'optedOut', 'invalidEmail', 'duplicate', 'noSegment'] as const;
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
  if (Array.isArray(value)) return value.map(cloneContact) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && !Object.isFrozen(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = cloneContact((value as Record<string, unknown>)[key]);
    return copy as T;
  }
  return value;
}

function field(value: string | undefined, fallback: string): string {
  return (value ?? fallback).trim();
}

/** Per-contact status codes of the hygiene pass: 0 means targetable so far, else 1 + the reason's index. */
const REASON_CODES: readonly NotTargetedReason[] = NOT_TARGETED_REASONS;
const NOT_A_CONTACT = 1 + REASON_CODES.indexOf('notAContact');
const OPTED_OUT = 1 + REASON_CODES.indexOf('optedOut');
const INVALID_EMAIL = 1 + REASON_CODES.indexOf('invalidEmail');
const DUPLICATE = 1 + REASON_CODES.indexOf('duplicate');
const NO_SEGMENT = 1 + REASON_CODES.indexOf('noSegment');

/** Compiles the segments' rules and the consent, hygiene and RFM settings, once per deploy. */
export function compileSegmentRules(config: SegmentationConfig): Segmenter {
  const segments = Array.isArray(config.segments) ? config.segments : [];
  const names = segments.map((segment, i) => (typeof segment.name === 'string' && segment.name.trim()) || `segment ${i + 1}`);
  const predicates: ContactPredicate[] = segments.map((segment, i) => compileRuleGroup(segment, names[i]));
  const matchEvery = config.matchMode === 'every';
  if (config.matchMode !== undefined && config.matchMode !== 'first' && !matchEvery) {
    throw new MarketingError('badMatchMode', `Match mode "${String(config.matchMode)}" must be "first" or "every"`,
      { mode: String(config.matchMode) });
  }
  const optOutField = field(config.optOutField, 'unsubscribed');
  const emailField = field(config.emailField, 'email');
  const readOptOut = optOutField ? compileFieldPath(optOutField) : undefined;
  const readEmail = emailField ? compileFieldPath(emailField) : undefined;
  const dedupe = readEmail !== undefined && config.dedupe !== false;
  const collectRfm = config.rfm ? compileRfmCollector(checkRfmFields(config.rfm)) : undefined;

  return {
    names,
    segment(contacts, options = {}) {
      const now = options.now ?? Date.now();
      const keep = options.keepNotTargeted === true;
      const total = contacts.length;
      // Pass 1, consent, addresses and RFM values: the later checks depend on the whole list (an
      // address opted out in any record is opted out in all of them; RFM ranks every contact).
      // Each valid address is read, trimmed and hashed once, here; the opt-out and duplicate
      // checks compare the kept text only when hashes are equal.
      const rfmValues = collectRfm?.(total);
      const status = new Uint8Array(total);
      const hashes = readEmail ? new Int32Array(total) : undefined;
      /** The trimmed valid address of each item, `''` for the others (pushed: a million holes would make a slow array). */
      const addresses: string[] = [];
      const addressAt = (i: number): string => addresses[i];
      const optedOutWithAddress: number[] = [];
      /** Positions with a valid address, for de-duplication. */
      const withAddress = dedupe ? new Int32Array(total) : undefined;
      let addressCount = 0;
      for (let i = 0; i < total; i++) {
        const contact = contacts[i];
        let address: string | undefined;
        if (!isContact(contact)) status[i] = NOT_A_CONTACT;
        else {
          rfmValues?.add(i, contact);
          if (readEmail && hashes) {
            address = validAddress(readEmail(contact));
            if (address === undefined) status[i] = INVALID_EMAIL;
            else {
              hashes[i] = addressHash(address);
              if (withAddress) withAddress[addressCount++] = i;
            }
          }
          if (readOptOut && isOptedOutValue(readOptOut(contact))) {
            if (status[i] === 0 && readEmail) optedOutWithAddress.push(i);
            status[i] = OPTED_OUT;
          }
        }
        if (readEmail) addresses.push(address ?? '');
      }
      const rfm = rfmValues?.scores();
      let optedOut: AddressSet | undefined;
      if (hashes && optedOutWithAddress.length > 0) {
        optedOut = new AddressSet(optedOutWithAddress.length, addressAt);
        for (const i of optedOutWithAddress) optedOut.add(i, addresses[i], hashes[i]);
      }

      // An address repeats an earlier one among the contacts that pass 1 kept and no opt-out
      // removes exactly when it repeats an earlier valid address of the whole list: a record
      // with that address opted out would have opted the address out.
      const repeated = withAddress && hashes ? repeatedAddresses(withAddress.subarray(0, addressCount), hashes, addressAt, total) : undefined;

      // Pass 2: RFM, de-duplication, segments.
      const lists: Contact[][] = names.map(() => []);
      const notTargeted: NotTargeted = { contacts: [], reasons: [] };
      const counts = new Array<number>(REASON_CODES.length).fill(0);
      const skip = (contact: unknown, code: number): void => {
        counts[code - 1]++;
        if (keep) {
          notTargeted.contacts.push(contact);
          notTargeted.reasons.push(REASON_CODES[code - 1]);
        }
      };
      const segmentCount = predicates.length;
      for (let i = 0; i < total; i++) {
        const contact = contacts[i];
        if (rfm && status[i] !== NOT_A_CONTACT) (contact as Contact).rfm = rfm.scoreAt(i);
        if (status[i] !== 0) { skip(contact, status[i]); continue; }
        if (hashes) {
          if (optedOut?.has(addresses[i], hashes[i])) { skip(contact, OPTED_OUT); continue; }
          if (repeated?.[i] === 1) { skip(contact, DUPLICATE); continue; }
        }
        let placed = false;
        for (let s = 0; s < segmentCount; s++) {
          if (!predicates[s](contact as Contact, now)) continue;
          lists[s].push(placed ? cloneContact(contact as Contact) : contact as Contact);
          placed = true;
          if (!matchEvery) break;
        }
        if (!placed) skip(contact, NO_SEGMENT);
      }
      const notTargetedCounts = Object.fromEntries(REASON_CODES.map((reason, i) => [reason, counts[i]])) as Record<NotTargetedReason, number>;
      return { segments: lists, notTargeted, notTargetedCounts };
    },
  };
}

function checkRfmFields(fields: RfmFields): RfmFields {
  for (const which of ['recency', 'frequency', 'monetary'] as const) {
    if (typeof fields[which] !== 'string' || fields[which].trim() === '') {
      throw new MarketingError('missingRfmField', `RFM scoring needs the ${which} field`, { which });
    }
  }
  return { recency: fields.recency.trim(), frequency: fields.frequency.trim(), monetary: fields.monetary.trim() };
}
