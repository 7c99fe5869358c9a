/**
 * Resources shared by every user in the process that asks for the same key (a loaded model,
 * an open ledger file): created on the first acquire, disposed of on the last release.
 */

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
