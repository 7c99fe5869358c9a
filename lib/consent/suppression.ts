/**
 * The suppression list: addresses that must never be mailed again (unsubscribed, hard
 * bounce, spam complaint, added by hand), each with the reason, the campaign and the list
 * it came from. Every send-email and segment node of the process consults it.
 *
 * It lives next to the send ledger in the Node-RED user directory, in the ledger's file
 * format (lib/email/ledger.ts): one record per line, `<crc32 as 8 hex digits> <JSON>\n`,
 * only ever appended, read whole at start, a torn last line ignored and cut off. An address
 * is recorded once: suppressing it again changes nothing and writes nothing, so the file
 * holds one line per suppressed address. A record is acknowledged only once it is on disk
 * (group commit: one write and one fdatasync per batch), but it is effective at once: the
 * next `has()` after `suppress()` is called sees it, in this process.
 *
 * Soft bounces are counted in the same file, one line each (`{"kind":"softBounce", email,
 * at, campaign}`), so that the count survives a restart; they suppress nothing by themselves.
 */
import { resolve } from 'node:path';
import { AppendLog, decodeChecksummedLine, encodeChecksummedLine, readAndRepair } from '../durable-log';
import { MarketingError } from '../errors';
import { isValidEmail, normaliseEmail } from '../segmentation/contacts';
import { SharedFiles } from '../shared';

/** The list's file name in the Node-RED user directory, next to the send ledger. */
export const DEFAULT_SUPPRESSION_FILE = 'marketing-suppression.log';

/** `softBounce`: suppressed after as many soft bounces as the suppress node allows. */
export const SUPPRESSION_REASONS = ['unsubscribe', 'hardBounce', 'softBounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** The longest campaign, list or source name kept with a record. */
const MAX_NAME = 200;

export interface SuppressionEntry {
  reason: SuppressionReason;
  /** ISO 8601 time the address was suppressed. */
  at: string;
  /** The campaign whose email led to it ('' when none, e.g. added by hand). */
  campaign: string;
  list: string;
}

export interface SuppressionRecord extends SuppressionEntry {
  /** The normalised address. */
  email: string;
}

export interface SuppressionRequest {
  email: string;
  reason: SuppressionReason;
  campaign?: string;
  list?: string;
}

export interface SuppressionOutcome {
  /** False when the address was suppressed already (nothing was written). */
  added: boolean;
  /** The record in force: the first one for the address. */
  record: SuppressionRecord;
}

export function isSuppressionReason(value: unknown): value is SuppressionReason {
  return typeof value === 'string' && (SUPPRESSION_REASONS as readonly string[]).includes(value);
}

/** A soft bounce, as counted in the file. */
export interface SoftBounceRecord {
  kind: 'softBounce';
  email: string;
  at: string;
  campaign: string;
}

export interface SoftBounceOutcome {
  /** Soft bounces of the address so far, this one included. */
  count: number;
  /** The suppression, when this bounce reached the limit or the address was suppressed already. */
  suppression?: SuppressionOutcome;
}

export function encodeSuppressionLine(record: SuppressionRecord | SoftBounceRecord): string {
  return encodeChecksummedLine(record);
}

export function decodeSuppressionLine(line: Buffer): SuppressionRecord | SoftBounceRecord | undefined {
  const record = decodeChecksummedLine(line) as SuppressionRecord | SoftBounceRecord | undefined;
  if (record === null || typeof record !== 'object') return undefined;
  if ('kind' in record) {
    if (record.kind !== 'softBounce' || typeof record.email !== 'string' || typeof record.at !== 'string') return undefined;
    return { kind: 'softBounce', email: record.email, at: record.at, campaign: String(record.campaign ?? '') };
  }
  if (typeof record.email !== 'string' || !isSuppressionReason(record.reason) || typeof record.at !== 'string') return undefined;
  return { email: record.email, reason: record.reason, at: record.at, campaign: String(record.campaign ?? ''), list: String(record.list ?? '') };
}

function name(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    throw new MarketingError('badSuppression', `The ${field} of a suppression must be text`, { field });
  }
  const trimmed = value.trim();
  if (trimmed.length > MAX_NAME) {
    throw new MarketingError('badSuppression', `The ${field} of a suppression must be at most ${MAX_NAME} characters`, { field });
  }
  return trimmed;
}

export class SuppressionList {
  readonly path: string;
  private readonly entries = new Map<string, SuppressionEntry>();
  private readonly softBounces = new Map<string, number>();
  /** Addresses whose record is not on disk yet, with the promise of its write. */
  private readonly unwritten = new Map<string, Promise<void>>();
  private log: AppendLog | undefined;
  /** Damaged lines found when the file was read (a torn tail is not counted). */
  corruptLines = 0;

  private constructor(path: string) {
    this.path = path;
  }

  /** Opens (or creates) the list at `path`, reads every record and cuts off a torn tail. */
  static async open(path: string): Promise<SuppressionList> {
    const list = new SuppressionList(resolve(path));
    try {
      await list.load();
    } catch (err) {
      await list.log?.close().catch(() => undefined);
      throw new MarketingError('suppressionOpen', `Cannot open the suppression list ${list.path}: ${(err as Error).message}`, {
        path: list.path,
        message: (err as Error).message,
      });
    }
    return list;
  }

  private async load(): Promise<void> {
    const read = await readAndRepair(this.path, (line) => {
      const record = decodeSuppressionLine(line);
      if (record && 'kind' in record) {
        this.softBounces.set(record.email, (this.softBounces.get(record.email) ?? 0) + 1);
      } else if (record) {
        const { email, ...entry } = record;
        // The first record of an address is the one in force, as when it was written.
        if (!this.entries.has(email)) this.entries.set(email, entry);
      }
      return record !== undefined;
    });
    this.corruptLines = read.corrupt;
    this.log = await AppendLog.open(this.path, read.created, {
      closed: () => new MarketingError('suppressionWrite', 'The suppression list is closed', { path: this.path, message: 'closed' }),
      // The addresses stay suppressed in memory: a write that failed must not let mail through.
      write: (err) => new MarketingError('suppressionWrite', `Cannot write the suppression list ${this.path}: ${err.message}`, { path: this.path, message: err.message }),
    });
  }

  private get closed(): boolean {
    return !this.log || this.log.closed;
  }

  /** Number of suppressed addresses. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `email` (any case, surrounding spaces) is suppressed. */
  has(email: string): boolean {
    return this.entries.has(normaliseEmail(email));
  }

  lookup(email: string): SuppressionRecord | undefined {
    const key = normaliseEmail(email);
    const entry = this.entries.get(key);
    return entry && { email: key, ...entry };
  }

  /**
   * Suppresses an address; resolves once its record is on disk. Suppressing an address
   * again writes nothing and resolves with the first record (once that one is on disk).
   * Throws a MarketingError for an invalid address, reason or name.
   */
  suppress(request: SuppressionRequest, now = new Date()): Promise<SuppressionOutcome> {
    if (!isValidEmail(request.email)) {
      throw new MarketingError('badSuppression', 'A suppression needs a valid email address', { field: 'email' });
    }
    if (!isSuppressionReason(request.reason)) {
      throw new MarketingError('badSuppression', `The reason of a suppression must be one of ${SUPPRESSION_REASONS.join(', ')}`, { field: 'reason' });
    }
    const email = normaliseEmail(request.email);
    const campaign = name(request.campaign, 'campaign');
    const list = name(request.list, 'list');
    if (this.closed) {
      return Promise.reject(new MarketingError('suppressionWrite', 'The suppression list is closed', { path: this.path, message: 'closed' }));
    }
    const existing = this.entries.get(email);
    if (existing) {
      const record = { email, ...existing };
      return (this.unwritten.get(email) ?? Promise.resolve()).then(() => ({ added: false, record }));
    }
    const record: SuppressionRecord = { email, reason: request.reason, at: now.toISOString(), campaign, list };
    const { email: _email, ...entry } = record;
    this.entries.set(email, entry);
    const written = this.write(record);
    this.unwritten.set(email, written);
    return written.then(
      () => {
        this.unwritten.delete(email);
        return { added: true, record };
      },
      (err: unknown) => {
        this.unwritten.delete(email);
        throw err;
      },
    );
  }

  private write(record: SuppressionRecord | SoftBounceRecord): Promise<void> {
    return (this.log as AppendLog).append(encodeSuppressionLine(record));
  }

  /** Soft bounces counted for `email` (any case). */
  softBounceCount(email: string): number {
    return this.softBounces.get(normaliseEmail(email)) ?? 0;
  }

  /**
   * Counts a soft bounce of `email`; the one that makes `limit` suppresses the address, reason
   * `softBounce`. An address suppressed already is not counted again. Resolves once on disk.
   */
  async softBounce(request: { email: string; campaign?: string }, limit: number, now = new Date()): Promise<SoftBounceOutcome> {
    if (!isValidEmail(request.email)) {
      throw new MarketingError('badSuppression', 'A suppression needs a valid email address', { field: 'email' });
    }
    const email = normaliseEmail(request.email);
    const campaign = name(request.campaign, 'campaign');
    if (this.closed) {
      throw new MarketingError('suppressionWrite', 'The suppression list is closed', { path: this.path, message: 'closed' });
    }
    if (this.entries.has(email)) {
      return { count: this.softBounces.get(email) ?? 0, suppression: await this.suppress({ email, reason: 'softBounce', campaign }, now) };
    }
    const count = (this.softBounces.get(email) ?? 0) + 1;
    this.softBounces.set(email, count);
    const counted = this.write({ kind: 'softBounce', email, at: now.toISOString(), campaign });
    if (count < Math.max(1, limit)) {
      await counted;
      return { count };
    }
    const [, suppression] = await Promise.all([counted, this.suppress({ email, reason: 'softBounce', campaign }, now)]);
    return { count, suppression };
  }

  /** Counts by reason, for reports. */
  summarise(): Record<SuppressionReason, number> {
    const counts = Object.fromEntries(SUPPRESSION_REASONS.map((reason) => [reason, 0])) as Record<SuppressionReason, number>;
    for (const entry of this.entries.values()) counts[entry.reason]++;
    return counts;
  }

  /** Waits for the records already suppressed to reach the disk, then closes the file. */
  async close(): Promise<void> {
    await this.log?.close();
  }
}

/** A use of a suppression file shared by every node of the process that reads or writes it. */
export interface SuppressionLease {
  list: Promise<SuppressionList>;
  /** Ends this use; the file is closed when the last user releases it. */
  release(): Promise<void>;
}

const sharedLists = new SharedFiles((path) => SuppressionList.open(path));

/**
 * One SuppressionList per file per process: a suppression recorded by one node is seen by
 * every other node at once.
 */
export function acquireSuppressionList(path: string): SuppressionLease {
  const { value, release } = sharedLists.acquire(path);
  return { list: value, release };
}
