/**
 * Resources shared by every user in the process that asks for the same key (a loaded model,
 * an open ledger file): created on the first acquire, disposed of on the last release.
 */
import { resolve } from 'node:path';

/** A user's hold on a shared resource. */
export interface Lease<T> {
  readonly value: T;
  /** Gives the resource back; the last release disposes of it. Calling it twice does nothing. */
  release(): Promise<void>;
}

export class SharedResources<T> {
  private readonly entries = new Map<string, { value: T; users: number }>();

  constructor(private readonly dispose: (value: T, key: string) => Promise<void>) {}

  /** The resource for `key`, made by `create` when nobody holds it. */
  acquire(key: string, create: () => T): Lease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: create(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        if (this.entries.get(key) === held) this.entries.delete(key);
        await this.dispose(held.value, key);
      },
    };
  }

  /** Number of resources currently held. */
  get size(): number {
    return this.entries.size;
  }

  /** Number of users holding the resource for `key` (0 when none). */
  users(key: string): number {
    return this.entries.get(key)?.users ?? 0;
  }
}

/**
 * Files opened once per process, by absolute path (the send ledger, the suppression list): every
 * user shares one instance, the last release closes it, and a file opened again while it is
 * being closed waits for the close first.
 */
export class SharedFiles<T extends { close(): Promise<void> }> {
  private readonly closing = new Map<string, Promise<void>>();
  private readonly files = new SharedResources<Promise<T>>(async (opened, key) => {
    const closing = opened.then((file) => file.close(), () => undefined);
    this.closing.set(key, closing);
    await closing;
    if (this.closing.get(key) === closing) this.closing.delete(key);
  });

  constructor(private readonly open: (path: string) => Promise<T>) {}

  acquire(path: string): Lease<Promise<T>> {
    const key = resolve(path);
    return this.files.acquire(key, () => (this.closing.get(key) ?? Promise.resolve()).then(() => this.open(key)));
  }
}
