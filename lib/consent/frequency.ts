/**
 * Frequency caps: at most `max` marketing emails to a contact within `days` days, across
 * campaigns, answered from the send ledger's `sent` records (lib/email/ledger.ts). The
 * ledger keeps one record per campaign and address, the email that campaign sent, so the
 * emails an address got within the window are the campaigns whose `sent` record is that
 * recent.
 */
import type { SendLedger } from '../email/ledger';
import { MarketingError } from '../errors';

export interface FrequencyCap {
  /** Most emails within the window; 0 turns the cap off. */
  max: number;
  days: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The cap of a node's settings (`max` empty or 0: off); throws for a negative or fractional one. */
export function frequencyCapOf(max: unknown, days: unknown): FrequencyCap | undefined {
  const count = max === undefined || max === null || max === '' ? 0 : Number(max);
  const window = days === undefined || days === null || days === '' ? 7 : Number(days);
  if (!Number.isInteger(count) || count < 0) {
    throw new MarketingError('badFrequencyCap', `The frequency cap must be a whole number of emails, not ${String(max)}`, { value: String(max) });
  }
  if (!Number.isFinite(window) || window <= 0) {
    throw new MarketingError('badFrequencyCap', `The frequency cap's window must be a number of days above 0, not ${String(days)}`, { value: String(days) });
  }
  return count === 0 ? undefined : { max: count, days: window };
}

/** Emails `ledger` says were sent to `to` (normalised) within the cap's window, other than by `exceptCampaign`. */
export function sentWithin(ledger: SendLedger, to: string, days: number, now: number, exceptCampaign?: string): number {
  const since = now - days * DAY_MS;
  let count = 0;
  for (const { campaign, entry } of ledger.recordsFor(to)) {
    if (campaign === exceptCampaign || entry.state !== 'sent') continue;
    if (Date.parse(entry.at) >= since) count++;
  }
  return count;
}

/** Whether another email to `to` would go over the cap. */
export function isCapped(ledger: SendLedger, to: string, cap: FrequencyCap, now: number, campaign?: string): boolean {
  return sentWithin(ledger, to, cap.days, now, campaign) >= cap.max;
}
