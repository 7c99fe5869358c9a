/**
 * Where messages go: an SMTP server through nodemailer's connection pool, or the file
 * outbox (each message an RFC 5322 `.eml` file), behind one small interface so that the
 * delivery logic (ledger, retries, outputs) is the same for both.
 */
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { MarketingError } from '../errors';
import { isLoopbackHost } from '../network';
import { CircuitBreaker, DEFAULT_BREAKER_SETTINGS, type BreakerSettings } from './breaker';
import { syncDirectory, writeFileAtomically } from './durable-file';
import { SmtpPool, type SmtpPoolOptions } from './smtp-pool';

export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
}

export interface MailTransport {
  /** How many messages the transport can usefully work on at once. */
  readonly concurrency: number;
  send(mail: SendMailOptions): Promise<DeliveryReceipt>;
  /** Holds messages while the server is down (SMTP only); shared by every user of the transport. */
  readonly breaker?: CircuitBreaker;
  /** Lets deliveries under way finish (for at most a grace period), then releases everything. */
  close(): Promise<void>;
  /** The file outbox only: the unfinished files of an earlier crash that it removed at start. */
  readonly leftovers?: Promise<OutboxLeftovers>;
}

/** Temporary `.eml.tmp` files a crash (kill -9, power loss) left in the outbox. */
export interface OutboxLeftovers {
  /** 0 bytes: the crash came before anything was written. */
  empty: number;
  /** With content, complete or not, but never renamed: never reported as sent. */
  unrenamed: number;
}

/**
 * `tls`: implicit TLS from the first byte (port 465). `starttls`: plain connection upgraded
 * with STARTTLS, refused if the server does not offer it (port 587). `starttls-if-offered`:
 * upgraded when offered, plain otherwise (credentials are then never sent). `none`: never
 * encrypted (local relays, test servers).
 */
export type SmtpSecurity = 'tls' | 'starttls' | 'starttls-if-offered' | 'none';

export const SMTP_SECURITY_MODES: readonly SmtpSecurity[] = ['tls', 'starttls', 'starttls-if-offered', 'none'];

export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Refuse servers whose certificate does not verify (on unless you know why). */
  rejectUnauthorized: boolean;
  user?: string;
  password?: string;
  /** Pooled connections kept open to the server. */
  maxConnections: number;
  /** Messages per second at most; 0 for no limit. */
  rateLimit: number;
  /** Limit for connecting, for the greeting, and for any silence of the server. */
  timeoutMs: number;
  /** The wait for the reply to the end of a message, once its final `.` is written (default 10 min). */
  dataTimeoutMs?: number;
  /** When the server counts as down, and how often it is probed then. */
  breaker?: BreakerSettings;
  /** How long close() lets deliveries under way finish before it cuts them off. */
  closeGraceMs?: number;
}

export const DEFAULT_SMTP_SETTINGS: Required<Omit<SmtpSettings, 'host' | 'user' | 'password' | 'closeGraceMs'>> = {
  port: 587,
  security: 'starttls',
  rejectUnauthorized: true,
  maxConnections: 5,
  rateLimit: 0,
  timeoutMs: 30_000,
  dataTimeoutMs: 10 * 60_000,
  breaker: DEFAULT_BREAKER_SETTINGS,
};

/** Checks settings that would fail every send, so that the mistake shows at deploy. */
export function validateSmtpSettings(settings: SmtpSettings): void {
  if (!settings.host.trim()) throw new MarketingError('noHost', 'No SMTP host is configured');
  if (!Number.isInteger(settings.port) || settings.port < 1 || settings.port > 65535) {
    throw new MarketingError('badPort', `Invalid SMTP port: ${settings.port}`, { port: String(settings.port) });
  }
  if (!SMTP_SECURITY_MODES.includes(settings.security)) {
    throw new MarketingError('badSecurity', `Unknown security mode: ${settings.security}`, { security: String(settings.security) });
  }
}

/** Combinations that are legal but almost always a mistake; codes of `smtp.warnings.*`. */
export function smtpSettingsWarnings(settings: SmtpSettings): string[] {
  const warnings: string[] = [];
  if (settings.port === 587 && settings.security === 'tls') warnings.push('implicitTlsOn587');
  if (settings.port === 465 && settings.security !== 'tls') warnings.push('plainOn465');
  // On loopback the password never leaves the machine, so plain text exposes it to no network.
  if (settings.security === 'none' && settings.user && !isLoopbackHost(settings.host)) warnings.push('credentialsInClear');
  if (!settings.rejectUnauthorized) warnings.push('unverifiedCertificates');
  return warnings;
}

/** The connection pool's options for our settings. */
export function smtpPoolOptions(settings: SmtpSettings): SmtpPoolOptions {
  const options: SmtpPoolOptions = {
    connection: {
      host: settings.host.trim(),
      port: settings.port,
      secure: settings.security === 'tls',
      requireTLS: settings.security === 'starttls',
      opportunisticTLS: settings.security === 'starttls-if-offered',
      ignoreTLS: settings.security === 'none',
      tls: { rejectUnauthorized: settings.rejectUnauthorized },
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    },
    maxConnections: Math.max(1, Math.floor(settings.maxConnections)),
    rateLimit: settings.rateLimit > 0 ? settings.rateLimit : 0,
    dataTimeoutMs: settings.dataTimeoutMs ?? DEFAULT_SMTP_SETTINGS.dataTimeoutMs,
  };
  if (settings.user) options.auth = { user: settings.user, pass: settings.password ?? '' };
  return options;
}

/** Counts deliveries under way so that close() knows when nothing is left in flight. */
class InFlightCounter {
  private count = 0;
  private waiters: Array<() => void> = [];

  track<T>(work: Promise<T>): Promise<T> {
    this.count++;
    return work.finally(() => {
      this.count--;
      if (this.count === 0) for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  get size(): number {
    return this.count;
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolveDrained) => {
      const timer = setTimeout(() => resolveDrained(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolveDrained(true);
      });
    });
  }
}

function addressList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => (typeof entry === 'string' ? entry : String((entry as { address?: string }).address ?? entry)));
}

export function createSmtpTransport(settings: SmtpSettings): MailTransport {
  validateSmtpSettings(settings);
  const pool = new SmtpPool(smtpPoolOptions(settings));
  const mailer = nodemailer.createTransport(pool);
  const inFlight = new InFlightCounter();
  const closeGraceMs = settings.closeGraceMs ?? 10_000;
  const breaker = new CircuitBreaker(settings.breaker ?? DEFAULT_SMTP_SETTINGS.breaker);
  return {
    // Twice the connections: one message on each connection, one waiting to follow it.
    concurrency: Math.max(1, Math.floor(settings.maxConnections)) * 2,
    breaker,
    async send(mail) {
      const info = await inFlight.track(mailer.sendMail(mail));
      return {
        messageId: info.messageId,
        accepted: addressList(info.accepted),
        rejected: addressList(info.rejected),
        response: info.response ?? '',
      };
    },
    async close() {
      breaker.close();
      pool.close();
      if (!(await inFlight.drained(closeGraceMs))) {
        // A server that stalls mid-delivery would hold the redeploy forever: cut it off.
        pool.close(true);
        await inFlight.drained(closeGraceMs);
      }
    },
  };
}

let outboxSequence = 0;

/**
 * A file name that sorts by time: UTC timestamp to the millisecond, then a per-process
 * sequence number for messages written in the same millisecond, then a random tag so that
 * two processes writing to one folder never collide.
 */
export function outboxFileName(date: Date, sequence: number, tag: string): string {
  const stamp = date.toISOString().replace(/:/g, '-');
  return `${stamp}-${String(sequence % 1_000_000).padStart(6, '0')}-${tag}.eml`;
}

/** What `${name}.eml` is written as until it is complete. */
const TEMPORARY_SUFFIX = '.eml.tmp';

/**
 * Removes the temporary files that processes killed mid-write left in the outbox `folder`.
 * Such a message was never renamed, so never reported as sent: the send ledger holds its
 * attempt without an outcome, which makes it an interrupted send, not a message to keep.
 * Only files last changed before this process started are touched: a newer one is a write
 * under way (in this process, or in another one sharing the folder).
 */
export async function removeOutboxLeftovers(folder: string): Promise<OutboxLeftovers> {
  const removed: OutboxLeftovers = { empty: 0, unrenamed: 0 };
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return removed; // no folder yet: nothing left over
  }
  for (const name of names.filter((entry) => entry.endsWith(TEMPORARY_SUFFIX))) {
    const path = join(folder, name);
    try {
      const stats = await stat(path);
      if (!stats.isFile() || stats.mtimeMs >= performance.timeOrigin) continue;
      await unlink(path);
      if (stats.size === 0) removed.empty++;
      else removed.unrenamed++;
    } catch {
      // Gone already, or not ours to remove: the next start tries again.
    }
  }
  if (removed.empty + removed.unrenamed > 0) await syncDirectory(folder);
  return removed;
}

/**
 * The file outbox: each message becomes an RFC 5322 `.eml` file (CRLF line ends, as sent over
 * SMTP) in `folder`. A file is written under a temporary name, synced, then renamed, and the
 * temporary files of a crashed earlier process are removed at start, so the folder never
 * holds a half-written message.
 */
export function createOutboxTransport(folder: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const inFlight = new InFlightCounter();
  let closed = false;
  const leftovers = removeOutboxLeftovers(folder);
  let folderReady: Promise<unknown> | undefined;
  const tag = Math.random().toString(16).slice(2, 6).padEnd(4, '0');
  return {
    concurrency: 4,
    leftovers,
    async send(mail) {
      if (closed) throw Object.assign(new Error('The outbox is closed'), { code: 'ECONNECTION' });
      return inFlight.track((async () => {
        const info = await composer.sendMail(mail);
        folderReady ??= leftovers.then(() => mkdir(folder, { recursive: true }));
        await folderReady;
        const name = outboxFileName(new Date(), ++outboxSequence, tag);
        const path = join(folder, name);
        await writeFileAtomically(path, `${path}.tmp`, (file) => file.writeFile(info.message as Buffer), 'wx');
        const recipients = [...(info.envelope.to ?? [])].map(String);
        return { messageId: info.messageId, accepted: recipients, rejected: [], response: `250 written to ${name}` };
      })());
    },
    async close() {
      closed = true;
      await inFlight.drained(60_000);
    },
  };
}
