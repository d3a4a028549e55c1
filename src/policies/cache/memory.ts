import { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.js';

/** A cached complete answer. */
export interface CachedAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * The in-process response cache: LRU bounded in bytes (not entries), each entry with its
 * own TTL on the injected clock.
 */
export class MemoryResponseCache {
  readonly #lru: LRUCache<string, CachedAnswer>;

  constructor(maxBytes: number, clock: Clock) {
    this.#lru = new LRUCache<string, CachedAnswer>({
      maxSize: maxBytes,
      // Strings are UTF-16 in memory: two bytes a character, plus the key.
      sizeCalculation: (v, k) => Math.max(1, (v.body.length + k.length) * 2),
      ttlAutopurge: false,
      allowStale: false,
      perf: { now: () => clock.monotonic() },
    });
  }

  get(key: string): CachedAnswer | undefined {
    return this.#lru.get(key);
  }

  set(key: string, value: CachedAnswer, ttlMs: number): void {
    this.#lru.set(key, value, { ttl: ttlMs });
  }

  get size(): number {
    return this.#lru.size;
  }
}
