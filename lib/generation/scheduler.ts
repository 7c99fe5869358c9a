/**
 * Work on a shared model, started first come first served, at most `limit` jobs at once.
 * Each backend says how many of its jobs run side by side with profit: the in-process model
 * one (onnxruntime already uses every core for one forward pass, so a second generation
 * only makes both slower), an inference server its in-flight limit (it batches concurrent
 * requests on its accelerator, which is where its throughput comes from).
 */
import { throwIfAborted } from './generator';

interface Waiting {
  start: () => void;
}

export class FifoScheduler {
  private readonly waiting: Waiting[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly limit = 1) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  }

  /** Jobs waiting for their turn (the running ones excluded). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Jobs running now, at most `limit`. */
  get runningCount(): number {
    return this.active;
  }

  /**
   * Runs `job` when every job queued before it has started and fewer than `limit` run. If
   * `signal` aborts while the job waits, it leaves the queue and rejects with the signal's
   * reason; once started, the job itself is responsible for watching the signal.
   */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        throwIfAborted(signal);
      } catch (err) {
        reject(err);
        return;
      }
      const onAbort = (): void => {
        const index = this.waiting.indexOf(entry);
        if (index === -1) return;
        this.waiting.splice(index, 1);
        try {
          throwIfAborted(signal);
        } catch (err) {
          reject(err);
        }
        this.settleIdle();
      };
      const entry: Waiting = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          // A job that throws before returning its promise fails like one that rejects.
          Promise.resolve()
            .then(job)
            .then(resolve, reject)
            .finally(() => {
              this.active--;
              this.next();
            });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
      this.next();
    });
  }

  /** Resolves when no job is running and none waits (for releasing the model safely). */
  whenIdle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    while (this.active < this.limit && this.waiting.length > 0) this.waiting.shift()?.start();
    this.settleIdle();
  }

  private settleIdle(): void {
    if (this.active > 0 || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
