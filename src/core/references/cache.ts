/**
 * A bounded cache of promises with an expiry: what a lookup found, per linked account. A promise is
 * kept from the moment it is asked for, so concurrent lookups of one key share one request; a promise
 * that rejects is dropped, so the next caller asks again.
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number }>();

  /**
   * @param ttlMs how long a value is kept
   * @param maxEntries past it, the least recently used is dropped
   * @param ttlOf a shorter life for some values (misses), given the value
   */
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly ttlOf: (value: V) => number = () => ttlMs,
  ) {}

  /** The value of `key`, fetched with `load` when absent or expired. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const found = this.entries.get(key);
    if (found && found.expiresAt > now) {
      // Most recently used last: a Map iterates in insertion order.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found.value;
    }
    const value = load();
    this.put(key, value);
    return value;
  }

  /** Keeps `value` under `key` (replacing what was there). */
  put(key: string, value: Promise<V>): void {
    const entry = { value, expiresAt: Date.now() + this.ttlMs };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    value.then(
      (settled) => {
        if (this.entries.get(key) === entry) entry.expiresAt = Date.now() + Math.min(this.ttlMs, this.ttlOf(settled));
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
  }

  /** How many keys are kept (expired ones included until they are asked for or pushed out). */
  get size(): number {
    return this.entries.size;
  }
}
