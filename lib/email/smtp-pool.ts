/**
 * A pool of SMTP connections, plugged into nodemailer as a custom transport (nodemailer still
 * composes every message; nodemailer's SMTPConnection speaks SMTP). Not nodemailer's own
 * pool, because the delivery guarantee needs to know, per message, what its connection was
 * doing when it failed: once the message's final `.` is written the server may have taken
 * it, so a failure from then on is an unknown outcome (`endOfDataSent` on the error), not a
 * failed attempt to retry. And the wait for that one reply is much longer than for the rest
 * of the dialogue (RFC 5321 section 4.5.3.2.6 suggests 10 minutes), as the server may be
 * storing or scanning the message. A failure to set a session up (connect, greeting, TLS,
 * login without a reply) carries `connectFailed`, which the circuit breaker counts.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SentMessageInfo, Transport } from 'nodemailer';
import type MailMessage from 'nodemailer/lib/mailer/mail-message';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SmtpPoolOptions {
  /** nodemailer's SMTPConnection options: host, port, TLS, connection/greeting/socket timeouts. */
  connection: SMTPConnection.Options;
  auth?: { user: string; pass: string };
  maxConnections: number;
  /** Messages per second at most; 0 for no limit. */
  rateLimit: number;
  /** The wait for the reply to the end of the message (after the final `.`). */
  dataTimeoutMs: number;
}

/** A connection left idle this long is closed (servers close theirs after about 5 minutes). */
const IDLE_TIMEOUT_MS = 4 * 60_000;
/** Messages per connection before it is replaced, as nodemailer's pool does. */
const MAX_MESSAGES_PER_CONNECTION = 100;

type PoolError = Error & { code?: string; responseCode?: number; command?: string; endOfDataSent?: boolean; connectFailed?: boolean };

interface PooledConnection {
  smtp: SMTPConnection;
  messages: number;
  idleTimer?: NodeJS.Timeout;
}

function connectionError(message: string): PoolError {
  return Object.assign(new Error(message), { code: 'ECONNECTION', command: 'CONN' });
}

export class SmtpPool implements Transport<SentMessageInfo> {
  readonly name = 'marketing-smtp-pool';
  readonly version = '1';
  private readonly options: SmtpPoolOptions;
  private readonly idle: PooledConnection[] = [];
  private readonly busy = new Set<PooledConnection>();
  /** Connections being opened, counted against maxConnections. */
  private opening = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly recentStarts: number[] = [];
  private closed = false;

  constructor(options: SmtpPoolOptions) {
    this.options = options;
  }

  send(mail: MailMessage<SentMessageInfo>, callback: (err: Error | null, info?: SentMessageInfo) => void): void {
    this.deliver(mail).then((info) => callback(null, info), (err: Error) => callback(err));
  }

  private async deliver(mail: MailMessage<SentMessageInfo>): Promise<SentMessageInfo> {
    const envelope = mail.message.getEnvelope();
    const messageId = mail.message.messageId();
    await this.throttle();
    const connection = await this.acquire();
    try {
      const info = await this.sendOn(connection, envelope, mail.message.createReadStream());
      this.release(connection);
      return { ...info, envelope, messageId } as SentMessageInfo;
    } catch (err) {
      // Not sent again here, even on a dropped idle connection: retrying is the delivery
      // layer's job (counted, with backoff, recorded in the ledger).
      this.discard(connection, err as PoolError);
      throw err;
    }
  }

  /** Sends on `connection`; a failure after the final `.` carries `endOfDataSent`. */
  private sendOn(connection: PooledConnection, envelope: ReturnType<MailMessage['message']['getEnvelope']>, stream: Readable): Promise<SentMessageInfo> {
    const { smtp } = connection;
    return new Promise((resolveSend, rejectSend) => {
      let endOfDataSent = false;
      let settled = false;
      const settle = (err: PoolError | null, info?: SentMessageInfo) => {
        if (settled) return;
        settled = true;
        smtp.removeListener('end', onEnd);
        if (!err) return resolveSend(info as SentMessageInfo);
        // A reply to the final `.` is a verdict (2yz/4yz/5yz); anything else is not.
        if (endOfDataSent && err.responseCode === undefined) err.endOfDataSent = true;
        rejectSend(err);
      };
      // SMTPConnection.close() drops the send in flight without calling back: end it here,
      // after the send callback had its chance to report the error that closed it.
      const onEnd = () => setImmediate(() => settle(connectionError('Connection closed')));
      smtp.once('end', onEnd);
      // The message stream ends when its last byte is handed to the connection, which then
      // writes the final `.`: from here on the server may store the message at any moment.
      stream.once('end', () => {
        endOfDataSent = true;
        if (smtp._socket) smtp._socket.setTimeout(this.options.dataTimeoutMs);
      });
      smtp.send(envelope, stream, (err, info) => {
        if (smtp._socket && !smtp._socket.destroyed) smtp._socket.setTimeout(this.options.connection.socketTimeout ?? 0);
        settle(err as PoolError | null, info as unknown as SentMessageInfo);
      });
    });
  }

  /** At most `rateLimit` messages start in any second. */
  private async throttle(): Promise<void> {
    const limit = this.options.rateLimit;
    if (!(limit > 0)) return;
    for (;;) {
      const now = Date.now();
      while (this.recentStarts.length && this.recentStarts[0] <= now - 1000) this.recentStarts.shift();
      if (this.recentStarts.length < limit) {
        this.recentStarts.push(now);
        return;
      }
      await sleep(this.recentStarts[0] + 1000 - now);
    }
  }

  private async acquire(): Promise<PooledConnection> {
    for (;;) {
      if (this.closed) throw connectionError('The connection pool is closed');
      const connection = this.idle.pop();
      if (connection) {
        clearTimeout(connection.idleTimer);
        this.busy.add(connection);
        return connection;
      }
      if (this.busy.size + this.opening < this.options.maxConnections) return this.open();
      await new Promise<void>((resume) => this.slotWaiters.push(resume));
    }
  }

  private async open(): Promise<PooledConnection> {
    this.opening++;
    const smtp = new SMTPConnection(this.options.connection);
    // Errors reach the send callback or the connect callback below; without a listener an
    // 'error' event would be thrown.
    smtp.on('error', () => undefined);
    const connection: PooledConnection = { smtp, messages: 0 };
    try {
      await new Promise<void>((resolveConnect, rejectConnect) => {
        const onError = (err: Error) => fail(err);
        const onEnd = () => fail(connectionError('Connection closed before the session was set up'));
        const fail = (err: PoolError) => {
          // What the circuit breaker counts: the server could not be reached or set a session up.
          if (err.responseCode === undefined) err.connectFailed = true;
          smtp.removeListener('error', onError);
          smtp.removeListener('end', onEnd);
          smtp.close();
          rejectConnect(err);
        };
        smtp.once('error', onError);
        smtp.once('end', onEnd);
        smtp.connect((err) => {
          if (err) return fail(err);
          const { auth } = this.options;
          if (!auth || !smtp.allowsAuth) return done();
          smtp.login({ user: auth.user, pass: auth.pass }, (loginError) => (loginError ? fail(loginError) : done()));
        });
        const done = () => {
          smtp.removeListener('error', onError);
          smtp.removeListener('end', onEnd);
          resolveConnect();
        };
      });
    } catch (err) {
      this.opening--;
      this.wakeOne();
      throw err;
    }
    this.opening--;
    smtp.once('end', () => this.forget(connection));
    if (this.closed) {
      smtp.close();
      throw connectionError('The connection pool is closed');
    }
    this.busy.add(connection);
    return connection;
  }

  private release(connection: PooledConnection): void {
    this.busy.delete(connection);
    connection.messages++;
    if (this.closed || connection.messages >= MAX_MESSAGES_PER_CONNECTION) {
      connection.smtp.quit();
    } else {
      connection.idleTimer = setTimeout(() => {
        const index = this.idle.indexOf(connection);
        if (index !== -1) this.idle.splice(index, 1);
        connection.smtp.quit();
      }, IDLE_TIMEOUT_MS);
      connection.idleTimer.unref();
      this.idle.push(connection);
    }
    this.wakeOne();
  }

  /** After a failed send: a refused message leaves a usable session (after RSET), anything else does not. */
  private discard(connection: PooledConnection, error: PoolError): void {
    const refused = (error.code === 'EENVELOPE' || error.code === 'EMESSAGE') && error.responseCode !== 421;
    if (refused && !connection.smtp.destroyed && !this.closed) {
      connection.smtp.reset((resetError) => {
        if (resetError) {
          connection.smtp.close();
          this.forget(connection);
        } else {
          this.release(connection);
        }
      });
      return;
    }
    connection.smtp.close();
    this.forget(connection);
  }

  private forget(connection: PooledConnection): void {
    clearTimeout(connection.idleTimer);
    const index = this.idle.indexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    if (this.busy.delete(connection)) this.wakeOne();
  }

  private wakeOne(): void {
    this.slotWaiters.shift()?.();
  }

  /** Closes idle connections at once; with `force`, also those in the middle of a message. */
  close(force = false): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) {
      clearTimeout(connection.idleTimer);
      connection.smtp.quit();
    }
    for (const resume of this.slotWaiters.splice(0)) resume();
    if (force) for (const connection of [...this.busy]) connection.smtp.close();
  }
}
