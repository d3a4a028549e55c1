import type { CacheEntry } from './entry.js';
import type { PurgeFilter } from './key.js';

/** Counters a store keeps for metrics. */
export interface StoreStats {
  /** Bytes held, where the store knows (memory); null otherwise. */
  readonly bytes: number | null;
  readonly entries: number | null;
  /** Entries dropped to make room. */
  readonly evictions: number;
  /** Backend calls that failed (treated as misses; the request goes on). */
  readonly errors: number;
}

/**
 * Where cached answers live. Every method settles: a backend failure reads as a miss or a
 * skipped write, never as a failed request.
 */
export interface ResponseStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<CacheEntry | null>;
  /** Stores an entry for `ttlMs` (freshness plus any stale grace). */
  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void>;
  /** Removes the entries under a filter; resolves with how many. */
  purge(filter: PurgeFilter): Promise<number>;
  stats(): StoreStats;
  close(): Promise<void>;
}
