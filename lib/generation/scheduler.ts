/**
 * One generation at a time per model, first come first served. onnxruntime already uses
 * every core for one forward pass, so running two generations side by side only makes both
 * slower; a FIFO keeps the order in which messages arrived.
 */
import { throwIfAborted } from './generator';

interface Waiting {
  start: () => void;
}

export class SerialScheduler {
  private readonly waiting: Waiting[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];

  /** Jobs waiting for their turn (the running one excluded). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.running;
  }

  /**
   * Runs `job` when every job queued before it has finished. If `signal` aborts while the
   * job waits, it leaves the queue and rejects with the signal's reason; once started, the
   * job itself is responsible for watching the signal.
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
      };
      const entry: Waiting = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.running = true;
          job()
            .then(resolve, reject)
            .finally(() => {
              this.running = false;
              this.next();
            });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
      if (!this.running) this.next();
    });
  }

  /** Resolves when no job is running and none waits (for releasing the model safely). */
  whenIdle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    const entry = this.waiting.shift();
    if (entry) {
      entry.start();
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
