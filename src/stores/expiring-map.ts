interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A Map whose entries expire at a given time and that holds at most `maxKeys` of them,
 * evicting the least recently used. Expired entries are dropped when read and by `sweep()`.
 * Map iteration order is insertion order, so re-inserting on access keeps the least recently
 * used entry first.
 */
export class ExpiringMap<V> {
  readonly #entries: Map<string, Entry<V>>;
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${String(maxKeys)}`);
    this.#entries = new Map();
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value for `key` at `now`, marking it recently used; undefined when missing or expired. */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** The expiry time of `key`'s live entry (as last set), or undefined. Does not mark it used. */
  expiresAt(key: string, now: number): number | undefined {
    const entry = this.#entries.get(key);
    return entry === undefined || entry.expiresAt <= now ? undefined : entry.expiresAt;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size > this.#maxKeys) {
      // The first key is the least recently used one.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry expired at `now`. */
  sweep(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
