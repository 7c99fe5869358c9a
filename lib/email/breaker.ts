/**
 * The circuit breaker of one transport: after a run of consecutive connection failures the
 * server is taken to be down. Messages then wait here instead of each spending its own
 * retries on a server that is not there; one probe at a time (a real message, sent when the
 * next probe is due) tests the server, and its success lets everything waiting go. A message
 * whose retry window ends while the server is down is let go with `expired`, so that a whole
 * campaign fails at once with one reason instead of message by message.
 *
 * Hand-written rather than opossum & co.: those reject calls while open (fail fast), where
 * here calls must be held until the next probe or their own deadline.
 */

export interface BreakerSettings {
  /** Consecutive connection failures that mark the server down. */
  threshold: number;
  /** Wait between the failure that marked the server down (or a failed probe) and the next probe. */
  probeIntervalMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = { threshold: 5, probeIntervalMs: 10_000 };

export type BreakerState =
  | { down: false }
  | { down: true; since: number; nextProbeAt: number; probing: boolean; lastError: string };

/** `go`: send; `probe`: send, as the one test of a down server; `expired`: the deadline passed while the server was down. */
export type Permit = 'go' | 'probe' | 'expired' | 'stopped';

interface Waiter {
  deadline: number;
  wake: (permit: Permit) => void;
}

export class CircuitBreaker {
  private readonly settings: BreakerSettings;
  private failures = 0;
  private downSince = 0;
  private nextProbeAt = 0;
  private probing = false;
  private lastFailure = '';
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly waiters: Waiter[] = [];
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(settings: BreakerSettings = DEFAULT_BREAKER_SETTINGS) {
    this.settings = settings;
  }

  get state(): BreakerState {
    if (!this.downSince) return { down: false };
    return { down: true, since: this.downSince, nextProbeAt: this.nextProbeAt, probing: this.probing, lastError: this.lastFailure };
  }

  /** The last connection failure's reply or message. */
  get lastError(): string {
    return this.lastFailure;
  }

  /** Calls `listener` on every change between up and down, and at every probe; returns the unsubscribe function. */
  subscribe(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether an attempt may start now. While the server is down it waits: for its turn as
   * the probe, for a probe's success, for `deadline` (epoch ms) or for `signal`.
   */
  permit(deadline: number, signal?: AbortSignal): Promise<Permit> {
    if (!this.downSince) return Promise.resolve('go');
    if (signal?.aborted) return Promise.resolve('stopped');
    if (Date.now() >= deadline) return Promise.resolve('expired');
    if (!this.probing && Date.now() >= this.nextProbeAt) {
      this.startProbe();
      return Promise.resolve('probe');
    }
    return new Promise((resolvePermit) => {
      const waiter: Waiter = {
        deadline,
        wake: (permit) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const index = this.waiters.indexOf(waiter);
          if (index !== -1) this.waiters.splice(index, 1);
          resolvePermit(permit);
        },
      };
      const onAbort = () => waiter.wake('stopped');
      const timer = setTimeout(() => waiter.wake('expired'), deadline - Date.now());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * The outcome of an attempt for the breaker: `reachable` unless it failed to connect (a
   * server that refuses or defers a message is up). `probe` for the attempt permitted as one.
   */
  record(reachable: boolean, probe: boolean, error = ''): void {
    if (reachable) {
      this.failures = 0;
      if (probe) this.probing = false;
      if (this.downSince) this.up();
      return;
    }
    this.failures++;
    this.lastFailure = error || this.lastFailure;
    if (this.downSince) {
      if (probe) {
        this.probing = false;
        this.scheduleProbe(Date.now() + this.settings.probeIntervalMs);
        this.notify();
      }
    } else if (this.failures >= this.settings.threshold) {
      this.downSince = Date.now();
      this.scheduleProbe(this.downSince + this.settings.probeIntervalMs);
      this.notify();
    }
  }

  /** Stops the probe timer (the transport is closing); waiters are woken by their own signals. */
  close(): void {
    clearTimeout(this.probeTimer);
  }

  private up(): void {
    this.downSince = 0;
    clearTimeout(this.probeTimer);
    for (const waiter of [...this.waiters]) waiter.wake('go');
    this.notify();
  }

  private scheduleProbe(at: number): void {
    this.nextProbeAt = at;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      const first = this.waiters[0];
      if (!first || this.probing) return;
      this.startProbe();
      first.wake('probe');
    }, Math.max(0, at - Date.now()));
    // A probe is due only if a message is waiting; it must not keep the process alive.
    this.probeTimer.unref();
  }

  private startProbe(): void {
    this.probing = true;
    this.notify();
  }

  private notify(): void {
    const state = this.state;
    for (const listener of this.listeners) listener(state);
  }
}
