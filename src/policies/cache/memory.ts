import { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.js';
import { entrySize, type CacheEntry } from './entry.js';
import { keyMatches, type PurgeFilter } from './key.js';
import type { ResponseStore, StoreStats } from './store.js';

/**
 * The in-process response cache: LRU bounded in bytes (not entries), each entry with its
 * own TTL on the injected clock.
 */
export class MemoryResponseStore implements ResponseStore {
  readonly kind = 'memory';
  readonly #lru: LRUCache<string, CacheEntry>;
  #evictions = 0;

  constructor(maxBytes: number, clock: Clock) {
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => Math.max(1, entrySize(v) + k.length * 2),
      ttlAutopurge: false,
      // Read the clock at every check (the default caches it for 1 ms, which a fake clock defeats).
      ttlResolution: 0,
      allowStale: false,
      perf: { now: () => clock.monotonic() },
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  get(key: string): Promise<CacheEntry | null> {
    return Promise.resolve(this.#lru.get(key) ?? null);
  }

  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    this.#lru.set(key, entry, { ttl: ttlMs });
    return Promise.resolve();
  }

  purge(filter: PurgeFilter): Promise<number> {
    let n = 0;
    for (const key of [...this.#lru.keys()]) {
      if (keyMatches(key, filter) && this.#lru.delete(key)) n++;
    }
    return Promise.resolve(n);
  }

  stats(): StoreStats {
    return { bytes: this.#lru.calculatedSize, entries: this.#lru.size, evictions: this.#evictions, errors: 0 };
  }

  close(): Promise<void> {
    this.#lru.clear();
    return Promise.resolve();
  }
}
