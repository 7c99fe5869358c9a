/**
 * Durable append-only files of checksummed JSON lines: what the send ledger and the
 * suppression list are written as.
 *
 * Format: one record per line, `<crc32 as 8 hex digits> <JSON>\n`. Records are only ever
 * appended, so the only damage a crash can do is a torn last line (or, on some file systems,
 * a tail of zeros); such a line fails its checksum or has no newline, is ignored when the file
 * is read, and is cut off before anything new is appended (`readAndRepair`).
 *
 * Durability (`AppendLog`): group commit. Every append joins the batch that the next flush
 * writes with one write() and one fdatasync(); the promise an append returns resolves only
 * after that fdatasync. While one batch is being synced the next one fills up, so the number
 * of syncs per second is bounded by the disk, not by the rate of records.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory } from './email/durable-file';
import type { MarketingError } from './errors';

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

/** The line of a record, newline included. */
export function encodeChecksummedLine(record: unknown): string {
  const json = JSON.stringify(record);
  return `${crc32(Buffer.from(json)).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The JSON value of one line (without its newline), or undefined if the line is damaged. */
export function decodeChecksummedLine(line: Buffer): unknown {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const checksum = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  const json = line.subarray(9);
  if (!Number.isInteger(checksum) || crc32(json) !== checksum) return undefined;
  try {
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const READ_CHUNK = 1 << 20;

export interface ReadResult {
  /** Lines `onLine` accepted. */
  valid: number;
  /** Complete lines it refused (a torn tail is not counted). */
  corrupt: number;
  /** The file was created (or was empty). */
  created: boolean;
}

/**
 * Reads every complete line of `path` (created if missing, mode 0600) in order, hands each to
 * `onLine` (true: a good record), and cuts off a torn tail, synced, before anything is appended.
 */
export async function readAndRepair(path: string, onLine: (line: Buffer) => boolean): Promise<ReadResult> {
  await mkdir(dirname(path), { recursive: true });
  // O_APPEND would ignore the truncation offset on some platforms, so the file is read and
  // repaired through a read-write handle first; AppendLog reopens it for appending.
  const repair = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
  const result: ReadResult = { valid: 0, corrupt: 0, created: false };
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
        if (onLine(data.subarray(start, end))) result.valid++;
        else result.corrupt++;
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
  result.created = validEnd === 0;
  return result;
}

/** The errors an AppendLog reports, in its owner's words. */
export interface AppendLogErrors {
  closed(): MarketingError;
  write(err: Error): MarketingError;
}

/** Appends lines to a file with group commit (see the top of this file). */
export class AppendLog {
  private batch: string[] = [];
  private batchWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private closing = false;

  private constructor(private handle: FileHandle | undefined, private readonly errors: AppendLogErrors) {}

  /** Opens `path` for appending; `created` (from readAndRepair) also syncs its directory. */
  static async open(path: string, created: boolean, errors: AppendLogErrors): Promise<AppendLog> {
    const handle = await open(path, 'a', 0o600);
    if (created) await syncDirectory(dirname(path));
    return new AppendLog(handle, errors);
  }

  get closed(): boolean {
    return this.closing || !this.handle;
  }

  /** Appends `line` (newline included); resolves once it is on disk (after the fdatasync of its batch). */
  append(line: string): Promise<void> {
    if (this.closed) return Promise.reject(this.errors.closed());
    this.batch.push(line);
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
        const failure = this.errors.write(err as Error);
        for (const waiter of waiters) waiter.reject(failure);
      }
    }
    this.flushing = undefined;
  }

  /** Waits for the lines already appended to reach the disk, then closes the file. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    while (this.flushing) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }
}
