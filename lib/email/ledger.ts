/**
 * The send ledger: a durable, append-only record of what was attempted and what was sent,
 * per campaign and recipient, so that a restart, a redeploy or the same list fed twice never
 * sends a message twice.
 *
 * File format and durability: lib/durable-log.ts (checksummed JSON lines, a torn tail cut off
 * at start, group commit with fdatasync). A message is acknowledged only after its record's
 * fdatasync.
 */
import { resolve } from 'node:path';
import { AppendLog, decodeChecksummedLine, encodeChecksummedLine, readAndRepair } from '../durable-log';
import { MarketingError } from '../errors';
import { SharedFiles } from '../shared';
import { writeFileAtomically } from './durable-file';

export { crc32 } from '../durable-log';

/** The ledger's file name in the Node-RED user directory, shared by every send-email node. */
export const DEFAULT_LEDGER_FILE = 'marketing-send-ledger.log';

export type LedgerState = 'attempt' | 'sent' | 'failed';

export interface LedgerEntry {
  state: LedgerState;
  /** ISO 8601 time of the record. */
  at: string;
  messageId?: string;
  /** The server's reply to the message (sent) or the reason it was not sent (failed). */
  response?: string;
  reason?: string;
  attempts?: number;
}

export interface LedgerRecord extends LedgerEntry {
  campaign: string;
  /** The normalised recipient address. */
  to: string;
}

/** Why a message must not go out now. */
export type DuplicateReason = 'alreadySent' | 'inFlight' | 'interrupted';

export type LedgerVerdict = { send: true } | { send: false; reason: DuplicateReason; entry?: LedgerEntry };

export interface CampaignLedgerSummary {
  sent: number;
  failed: number;
  /** Attempted before a crash or a forced stop, with no outcome recorded: maybe sent. */
  interrupted: number;
  inFlight: number;
  firstSentAt?: string;
  lastSentAt?: string;
  /** Up to 100 addresses of interrupted sends, for a person to check. */
  interruptedRecipients: string[];
}

export function encodeLedgerLine(record: LedgerRecord): string {
  return encodeChecksummedLine(record);
}

const STATES = new Set<LedgerState>(['attempt', 'sent', 'failed']);

/** The record of one line (without its newline), or undefined if it is damaged. */
export function decodeLedgerLine(line: Buffer): LedgerRecord | undefined {
  const record = decodeChecksummedLine(line) as LedgerRecord | undefined;
  if (record === null || typeof record !== 'object') return undefined;
  if (typeof record.campaign !== 'string' || typeof record.to !== 'string' || !STATES.has(record.state)) return undefined;
  return record;
}

export class SendLedger {
  readonly path: string;
  private readonly campaigns = new Map<string, Map<string, LedgerEntry>>();
  private readonly inFlight = new Set<string>();
  private log: AppendLog | undefined;
  /** Damaged lines found when the file was read (a torn tail is not counted). */
  corruptLines = 0;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Opens (or creates) the ledger at `path`: reads every record, cuts off a torn tail, and
   * rewrites the file with only the latest record per recipient when most lines are stale.
   */
  static async open(path: string): Promise<SendLedger> {
    const ledger = new SendLedger(resolve(path));
    try {
      await ledger.load();
    } catch (err) {
      await ledger.log?.close().catch(() => undefined);
      throw new MarketingError('ledgerOpen', `Cannot open the send ledger ${ledger.path}: ${(err as Error).message}`, {
        path: ledger.path,
        message: (err as Error).message,
      });
    }
    return ledger;
  }

  private async load(): Promise<void> {
    const read = await readAndRepair(this.path, (line) => {
      const record = decodeLedgerLine(line);
      if (record) this.apply(record);
      return record !== undefined;
    });
    this.corruptLines = read.corrupt;
    if (read.valid > 1000 && read.valid > 1.5 * this.size()) await this.compact();
    this.log = await AppendLog.open(this.path, read.created, {
      closed: () => new MarketingError('ledgerWrite', 'The send ledger is closed', { path: this.path, message: 'closed' }),
      write: (err) => new MarketingError('ledgerWrite', `Cannot write the send ledger ${this.path}: ${err.message}`, { path: this.path, message: err.message }),
    });
  }

  private size(): number {
    let count = 0;
    for (const entries of this.campaigns.values()) count += entries.size;
    return count;
  }

  /** Rewrites the file with the latest record per recipient, atomically (write, sync, rename). */
  private async compact(): Promise<void> {
    await writeFileAtomically(this.path, `${this.path}.compact`, async (out) => {
      let buffer: string[] = [];
      for (const [campaign, entries] of this.campaigns) {
        for (const [to, entry] of entries) {
          buffer.push(encodeLedgerLine({ campaign, to, ...entry }));
          if (buffer.length >= 4096) {
            await out.appendFile(buffer.join(''));
            buffer = [];
          }
        }
      }
      await out.appendFile(buffer.join(''));
    });
  }

  private apply(record: LedgerRecord): void {
    let entries = this.campaigns.get(record.campaign);
    if (!entries) {
      entries = new Map();
      this.campaigns.set(record.campaign, entries);
    }
    const { campaign: _campaign, to, ...entry } = record;
    entries.set(to, entry);
  }

  /** Every campaign's latest record for `to` (a normalised address): what was sent to it, and when. */
  recordsFor(to: string): Array<{ campaign: string; entry: LedgerEntry }> {
    const found: Array<{ campaign: string; entry: LedgerEntry }> = [];
    for (const [campaign, entries] of this.campaigns) {
      const entry = entries.get(to);
      if (entry) found.push({ campaign, entry });
    }
    return found;
  }

  lookup(campaign: string, to: string): LedgerEntry | undefined {
    return this.campaigns.get(campaign)?.get(to);
  }

  /**
   * Decides whether a message to `to` in `campaign` may go out, and if so claims the key so
   * that no other message with the same key goes out until `releaseClaim` is called.
   * A recorded attempt without an outcome (the process stopped mid-send) blocks the key
   * unless `resendInterrupted` is set: whether that message reached the server is unknown.
   */
  reserve(campaign: string, to: string, resendInterrupted: boolean): LedgerVerdict {
    const key = claimKey(campaign, to);
    if (this.inFlight.has(key)) return { send: false, reason: 'inFlight' };
    const entry = this.lookup(campaign, to);
    if (entry?.state === 'sent') return { send: false, reason: 'alreadySent', entry };
    if (entry?.state === 'attempt' && !resendInterrupted) return { send: false, reason: 'interrupted', entry };
    this.inFlight.add(key);
    return { send: true };
  }

  releaseClaim(campaign: string, to: string): void {
    this.inFlight.delete(claimKey(campaign, to));
  }

  /** Appends a record; resolves once it is on disk (after the fdatasync of its batch). */
  append(record: LedgerRecord): Promise<void> {
    if (!this.log || this.log.closed) {
      return Promise.reject(new MarketingError('ledgerWrite', 'The send ledger is closed', { path: this.path, message: 'closed' }));
    }
    this.apply(record);
    return this.log.append(encodeLedgerLine(record));
  }

  summarise(campaign: string): CampaignLedgerSummary {
    const summary: CampaignLedgerSummary = { sent: 0, failed: 0, interrupted: 0, inFlight: 0, interruptedRecipients: [] };
    for (const [to, entry] of this.campaigns.get(campaign) ?? []) {
      if (entry.state === 'sent') {
        summary.sent++;
        if (!summary.firstSentAt || entry.at < summary.firstSentAt) summary.firstSentAt = entry.at;
        if (!summary.lastSentAt || entry.at > summary.lastSentAt) summary.lastSentAt = entry.at;
      } else if (entry.state === 'failed') {
        summary.failed++;
      } else if (this.inFlight.has(claimKey(campaign, to))) {
        summary.inFlight++;
      } else {
        summary.interrupted++;
        if (summary.interruptedRecipients.length < 100) summary.interruptedRecipients.push(to);
      }
    }
    return summary;
  }

  /** Waits for the records already appended to reach the disk, then closes the file. */
  async close(): Promise<void> {
    await this.log?.close();
  }
}

function claimKey(campaign: string, to: string): string {
  return `${campaign}\u0000${to}`;
}

/** A use of a ledger file shared by every node of the process that writes to it. */
export interface LedgerLease {
  ledger: Promise<SendLedger>;
  /** Ends this use; the file is closed when the last user releases it. */
  release(): Promise<void>;
}

const sharedLedgers = new SharedFiles((path) => SendLedger.open(path));

/**
 * One SendLedger per file per process: every send-email node writing to the same file
 * shares the records and the in-flight claims, so two nodes cannot send the same key twice.
 */
export function acquireSendLedger(path: string): LedgerLease {
  const { value, release } = sharedLedgers.acquire(path);
  return { ledger: value, release };
}
