/**
 * The send ledger: a durable, append-only record of what was attempted and what was sent,
 * per campaign and recipient, so that a restart, a redeploy or the same list fed twice never
 * sends a message twice.
 *
 * File format: one record per line, `<crc32 as 8 hex digits> <JSON>\n`. Records are only
 * ever appended, so the only damage a crash can do is a torn last line (or, on some file
 * systems, a tail of zeros); such a line fails its checksum or has no newline, is ignored
 * when the file is read, and is cut off before anything new is appended.
 *
 * Durability: records are written with group commit. Every append joins the batch that the
 * next flush writes with one write() and one fdatasync(); the promise an append returns
 * resolves only after that fdatasync, and a message is acknowledged only after that. While
 * one batch is being synced the next one fills up, so the number of syncs per second is
 * bounded by the disk, not by the message rate.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MarketingError } from '../errors';
import { SharedResources } from '../shared';
import { syncDirectory, writeFileAtomically } from './durable-file';

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

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), the checksum of zip and PNG: enough to tell a torn or zeroed line. */
export function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function encodeLedgerLine(record: LedgerRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(Buffer.from(json)).toString(16).padStart(8, '0')} ${json}\n`;
}

const STATES = new Set<LedgerState>(['attempt', 'sent', 'failed']);

/** The record of one line (without its newline), or undefined if it is damaged. */
export function decodeLedgerLine(line: Buffer): LedgerRecord | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const checksum = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  const json = line.subarray(9);
  if (!Number.isInteger(checksum) || crc32(json) !== checksum) return undefined;
  try {
    const record = JSON.parse(json.toString('utf8')) as LedgerRecord;
    if (typeof record.campaign !== 'string' || typeof record.to !== 'string' || !STATES.has(record.state)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

const READ_CHUNK = 1 << 20;

export class SendLedger {
  readonly path: string;
  private readonly campaigns = new Map<string, Map<string, LedgerEntry>>();
  private readonly inFlight = new Set<string>();
  private handle: FileHandle | undefined;
  private batch: string[] = [];
  private batchWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
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
      await ledger.handle?.close().catch(() => undefined);
      throw new MarketingError('ledgerOpen', `Cannot open the send ledger ${ledger.path}: ${(err as Error).message}`, {
        path: ledger.path,
        message: (err as Error).message,
      });
    }
    return ledger;
  }

  private async load(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // O_APPEND would ignore the truncation offset on some platforms, so the file is read and
    // repaired through a read-write handle first, then reopened for appending.
    const repair = await open(this.path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    let lines = 0;
    let validEnd = 0;
    try {
      const chunk = Buffer.allocUnsafe(READ_CHUNK);
      let carry = Buffer.alloc(0);
      let position = 0;
      for (;;) {
        const { bytesRead } = await repair.read(chunk, 0, READ_CHUNK, position);
        if (bytesRead === 0) break;
        const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
        const dataStart = position - carry.length;
        position += bytesRead;
        let start = 0;
        for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
          const record = decodeLedgerLine(data.subarray(start, end));
          if (record) {
            this.apply(record);
            lines++;
          } else {
            this.corruptLines++;
          }
          start = end + 1;
          validEnd = dataStart + start;
        }
        carry = Buffer.from(data.subarray(start));
      }
      if (position > validEnd) {
        await repair.truncate(validEnd);
        await repair.datasync();
      }
    } finally {
      await repair.close();
    }
    if (lines > 1000 && lines > 1.5 * this.size()) await this.compact();
    this.handle = await open(this.path, 'a', 0o600);
    if (validEnd === 0) await syncDirectory(dirname(this.path));
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
    if (this.closed || !this.handle) {
      return Promise.reject(new MarketingError('ledgerWrite', 'The send ledger is closed', { path: this.path, message: 'closed' }));
    }
    this.apply(record);
    this.batch.push(encodeLedgerLine(record));
    return new Promise((resolveWrite, rejectWrite) => {
      this.batchWaiters.push({ resolve: resolveWrite, reject: rejectWrite });
      // setImmediate lets every record appended in this turn of the event loop join the batch
      this.flushing ??= new Promise<void>((done) => setImmediate(() => this.flush().then(done)));
    });
  }

  private async flush(): Promise<void> {
    const handle = this.handle as FileHandle;
    while (this.batch.length) {
      const lines = this.batch.join('');
      const waiters = this.batchWaiters;
      this.batch = [];
      this.batchWaiters = [];
      try {
        await handle.appendFile(lines);
        await handle.datasync();
        for (const waiter of waiters) waiter.resolve();
      } catch (err) {
        const failure = new MarketingError('ledgerWrite', `Cannot write the send ledger ${this.path}: ${(err as Error).message}`, {
          path: this.path,
          message: (err as Error).message,
        });
        for (const waiter of waiters) waiter.reject(failure);
      }
    }
    this.flushing = undefined;
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
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
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

/** Files being closed: a ledger opened again for the same file waits for its close. */
const closingLedgers = new Map<string, Promise<void>>();
const sharedLedgers = new SharedResources<Promise<SendLedger>>(async (opened, key) => {
  const closing = opened.then((ledger) => ledger.close(), () => undefined);
  closingLedgers.set(key, closing);
  await closing;
  if (closingLedgers.get(key) === closing) closingLedgers.delete(key);
});

/**
 * One SendLedger per file per process: every send-email node writing to the same file
 * shares the records and the in-flight claims, so two nodes cannot send the same key twice.
 */
export function acquireSendLedger(path: string): LedgerLease {
  const key = resolve(path);
  const { value, release } = sharedLedgers.acquire(key, () => (closingLedgers.get(key) ?? Promise.resolve()).then(() => SendLedger.open(key)));
  return { ledger: value, release };
}
