/**
 * Delivery of composed messages with the guarantees of the send-email node: a message whose
 * key (campaign + recipient) is in the send ledger never goes out again, two messages with
 * the same key are never in flight together, transient failures are retried with backoff,
 * and every outcome is on disk before it is reported.
 *
 * Per message the ledger gets an `attempt` record before the message is handed to the
 * transport, then a `sent` or `failed` record. At most `transport.concurrency` messages are
 * between the attempt record and the transport's answer at any time (so that a crash leaves
 * few attempts without an outcome); the rest wait in a queue with nothing recorded. The
 * outcome record is written after the message gives up its place, so that the next message
 * does not wait for that disk sync.
 *
 * Two failures are not ordinary failures:
 * - No reply to the end of the message (its final `.` was written): the server may have
 *   stored it. It is not retried unless `resendInterrupted` (then with the same Message-ID),
 *   and its `attempt` record stays without an outcome (a second `attempt` record says why), so
 *   that a later run treats it like a send a crash interrupted.
 * - The server is down (the transport's circuit breaker): messages wait for the breaker's
 *   probe instead of spending their own attempts, and fail together, `serverDown`, when their
 *   retry window (counted from when they were handed over) ends.
 *
 * A recipient on the suppression list (`isSuppressed`) is not sent to: checked when the
 * message is handed over and again before every attempt, so that an unsubscribe recorded
 * while the message waited in the queue or for a retry still stops it. Stopped after its
 * attempt record, the message gets a `failed` record with reason `suppressed`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SendMailOptions } from 'nodemailer';
import { MarketingError } from '../errors';
import type { DuplicateReason, LedgerEntry, SendLedger } from './ledger';
import { classifyDeliveryError, retryDelay, type RetryPolicy } from './retry';
import type { DeliveryReceipt, MailTransport } from './transport';

export interface DeliveryJob {
  campaign: string;
  /** Normalised recipient address: the second half of the idempotency key. */
  to: string;
  mail: SendMailOptions;
}

export type DeliveryOutcome =
  | { status: 'sent'; receipt: DeliveryReceipt; attempts: number; ledgerError?: MarketingError }
  | { status: 'duplicate'; reason: DuplicateReason; entry?: LedgerEntry }
  | { status: 'failed'; error: MarketingError; attempts: number; messageId?: string }
  | { status: 'suppressed'; attempts: number };

export interface DeliveryOptions {
  transport: MailTransport;
  /** Without a ledger nothing is de-duplicated (for transactional mail). */
  ledger?: SendLedger;
  retry: RetryPolicy;
  /** Send again a message whose earlier attempt has no recorded outcome (a crash mid-send). */
  resendInterrupted: boolean;
  /** Whether a (normalised) recipient is on the suppression list: never sent to. */
  isSuppressed?: (to: string) => boolean;
  random?: () => number;
}

interface QueuedJob {
  job: DeliveryJob;
  settle: (outcome: DeliveryOutcome) => void;
  /** When the message was handed over: its retry window starts here. */
  since: number;
}

function stoppedError(): MarketingError {
  return new MarketingError('stopped', 'Not sent: the node stopped (redeploy or shutdown) before the message went out');
}

function serverDownError(lastError: string, windowMs: number): MarketingError {
  const seconds = Math.round(windowMs / 1000);
  return new MarketingError('serverDown', `Not sent: the SMTP server was down for the whole retry window (${seconds} s); last error: ${lastError}`, {
    seconds,
    response: lastError,
  });
}

/** How a message that was not sent ends: recorded as failed, not recorded, or left maybe delivered. */
interface Ending {
  /** Write a `failed` record (not for a message that never had an `attempt` record and must not get one). */
  record: boolean;
  /** An earlier attempt ended without a reply to its final `.`: the message may be delivered. */
  maybeDelivered?: MarketingError;
}

export class EmailDelivery {
  private readonly options: DeliveryOptions;
  private readonly queue: QueuedJob[] = [];
  /** Messages between their attempt record and the transport's answer. */
  private active = 0;
  /** Messages taken from the queue and not settled yet (active, or writing their outcome). */
  private started = 0;
  private closing = false;
  private readonly stopping = new AbortController();
  private idle: Array<() => void> = [];

  constructor(options: DeliveryOptions) {
    this.options = options;
  }

  /** Messages accepted and not finished yet (queued, being sent, or waiting for a retry). */
  get pending(): number {
    return this.queue.length + this.started;
  }

  deliver(job: DeliveryJob): Promise<DeliveryOutcome> {
    if (this.closing) return Promise.resolve({ status: 'failed', error: stoppedError(), attempts: 0 });
    const { ledger, resendInterrupted } = this.options;
    if (this.options.isSuppressed?.(job.to)) return Promise.resolve({ status: 'suppressed', attempts: 0 });
    if (ledger) {
      const verdict = ledger.reserve(job.campaign, job.to, resendInterrupted);
      if (!verdict.send) return Promise.resolve({ status: 'duplicate', reason: verdict.reason, entry: verdict.entry });
    }
    return new Promise((settle) => {
      this.queue.push({ job, settle, since: Date.now() });
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closing && this.active < this.options.transport.concurrency && this.queue.length) {
      const { job, settle, since } = this.queue.shift() as QueuedJob;
      this.active++;
      this.started++;
      let holdsPlace = true;
      const givePlace = () => {
        if (!holdsPlace) return;
        holdsPlace = false;
        this.active--;
        this.pump();
      };
      void this.run(job, since, givePlace).then((outcome) => {
        givePlace();
        this.started--;
        this.options.ledger?.releaseClaim(job.campaign, job.to);
        settle(outcome);
        if (this.started === 0) for (const resume of this.idle.splice(0)) resume();
      });
    }
  }

  /** Sends `job`, retrying as the policy says; calls `givePlace` once the transport is done with it. */
  private async run(job: DeliveryJob, since: number, givePlace: () => void): Promise<DeliveryOutcome> {
    const { ledger, transport, retry, resendInterrupted } = this.options;
    const breaker = transport.breaker;
    const deadline = since + retry.maxElapsedMs;
    // Before the attempt record: a message held back by a down server was never attempted.
    let permit = breaker ? await breaker.permit(deadline, this.stopping.signal) : 'go';
    if (permit === 'stopped') return this.fail(job, stoppedError(), 0, givePlace, { record: false });
    if (permit === 'expired') return this.fail(job, serverDownError(breaker?.lastError ?? '', retry.maxElapsedMs), 0, givePlace, { record: true });
    if (this.options.isSuppressed?.(job.to)) {
      if (permit === 'probe') breaker?.record(false, true);
      return { status: 'suppressed', attempts: 0 };
    }
    if (ledger) {
      try {
        await this.record(job, { state: 'attempt' });
      } catch (err) {
        if (permit === 'probe') breaker?.record(false, true);
        return { status: 'failed', error: err as MarketingError, attempts: 0 };
      }
    }
    const started = Date.now();
    let maybeDelivered: MarketingError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1 && breaker) {
        permit = await breaker.permit(deadline, this.stopping.signal);
        if (permit === 'stopped') return this.fail(job, stoppedError(), attempt - 1, givePlace, { record: true, maybeDelivered });
        if (permit === 'expired') {
          return this.fail(job, serverDownError(breaker.lastError, retry.maxElapsedMs), attempt - 1, givePlace, { record: true, maybeDelivered });
        }
      }
      if (this.closing) {
        if (permit === 'probe') breaker?.record(false, true);
        return this.fail(job, stoppedError(), attempt - 1, givePlace, { record: true, maybeDelivered });
      }
      if (this.options.isSuppressed?.(job.to)) {
        if (permit === 'probe') breaker?.record(false, true);
        givePlace();
        await this.record(job, { state: 'failed', reason: 'suppressed', attempts: attempt - 1 }).catch(() => undefined);
        return { status: 'suppressed', attempts: attempt - 1 };
      }
      let receipt: DeliveryReceipt;
      try {
        receipt = await transport.send(job.mail);
      } catch (err) {
        const failure = classifyDeliveryError(err);
        breaker?.record(!failure.connection, permit === 'probe', String(failure.error.params.response ?? failure.error.message));
        if (failure.unknownOutcome) {
          maybeDelivered = failure.error;
          // At most once unless told otherwise: sending again could deliver it twice.
          if (!resendInterrupted) return this.fail(job, failure.error, attempt, givePlace, { record: true, maybeDelivered });
        }
        if (failure.transient && this.closing) return this.fail(job, stoppedError(), attempt, givePlace, { record: true, maybeDelivered });
        const delay = failure.transient ? retryDelay(retry, attempt + 1, Date.now() - started, this.options.random) : undefined;
        if (delay === undefined) {
          // A message that ran out of time while the server was down fails for that one reason.
          const error = failure.connection && breaker?.state.down
            ? serverDownError(breaker.lastError, retry.maxElapsedMs)
            : failure.transient && attempt > 1
            ? new MarketingError('retriesExhausted', `Gave up after ${attempt} attempts: ${failure.error.message}`, {
              attempts: attempt,
              response: failure.error.params.response ?? '',
            })
            : failure.error;
          return this.fail(job, error, attempt, givePlace, { record: true, maybeDelivered });
        }
        if (!(await this.backoff(delay))) return this.fail(job, stoppedError(), attempt, givePlace, { record: true, maybeDelivered });
        continue;
      }
      breaker?.record(true, permit === 'probe');
      givePlace();
      return this.succeed(job, receipt, attempt);
    }
  }

  private async succeed(job: DeliveryJob, receipt: DeliveryReceipt, attempts: number): Promise<DeliveryOutcome> {
    try {
      await this.record(job, { state: 'sent', messageId: receipt.messageId, response: receipt.response, attempts });
    } catch (err) {
      return { status: 'sent', receipt, attempts, ledgerError: err as MarketingError };
    }
    return { status: 'sent', receipt, attempts };
  }

  private async fail(job: DeliveryJob, error: MarketingError, attempts: number, givePlace: () => void, ending: Ending): Promise<DeliveryOutcome> {
    givePlace();
    const messageId = typeof job.mail.messageId === 'string' ? job.mail.messageId : undefined;
    if (ending.maybeDelivered) {
      // No `failed` record: the key stays undecided (an `attempt` without an outcome), so a
      // later run skips it unless told to resend, as after a crash. This second `attempt`
      // record only says why.
      await this.record(job, { state: 'attempt', reason: 'unknownOutcome', messageId, response: replyOf(ending.maybeDelivered), attempts }).catch(() => undefined);
      return { status: 'failed', error: ending.maybeDelivered, attempts, messageId };
    }
    // Recorded so that a later run may send it: a failed message is known not to be delivered.
    if (ending.record) {
      await this.record(job, { state: 'failed', reason: error.code, response: replyOf(error), attempts }).catch(() => undefined);
    }
    return { status: 'failed', error, attempts };
  }

  /** Appends a record for the job's key, stamped now (nothing without a ledger). */
  private async record(job: DeliveryJob, entry: Omit<LedgerEntry, 'at'>): Promise<void> {
    const { state, ...details } = entry;
    await this.options.ledger?.append({ campaign: job.campaign, to: job.to, state, at: new Date().toISOString(), ...details });
  }

  /** Waits `ms`; resolves false instead if close() cuts the wait short. */
  private backoff(ms: number): Promise<boolean> {
    return sleep(ms, true, { signal: this.stopping.signal }).catch(() => false);
  }

  /**
   * Stops: queued messages are given up at once (nothing of them was recorded), messages
   * waiting for a retry are recorded as failed, and messages on the wire are waited for,
   * so that every attempt in the ledger gets its outcome.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.stopping.abort();
    for (const { job, settle } of this.queue.splice(0)) {
      this.options.ledger?.releaseClaim(job.campaign, job.to);
      settle({ status: 'failed', error: stoppedError(), attempts: 0 });
    }
    if (this.started > 0) await new Promise<void>((resume) => this.idle.push(resume));
  }
}

/** The server's reply an error quotes, if any. */
function replyOf(error: MarketingError): string | undefined {
  return typeof error.params.response === 'string' ? error.params.response : undefined;
}
