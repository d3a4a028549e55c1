import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { ExpiringMap } from './expiring-map.js';
import { checkCost, checkDelta, checkLengths, compileRule, drainedAt, levelAt, resultOf, tatOf, adjustedLevel, type Tat } from './gcra.js';
import { checkAcquire, checkAdd, checkKey, checkMark } from './validate.js';
import type { LimitResult, LimitRule, StateStore } from './types.js';

export interface MemoryStoreOptions {
  readonly clock: Clock;
  /** Most keys kept of each kind (limits, concurrency, counters); the least recently used is evicted. Default 100,000. */
  readonly maxKeys?: number;
  /** How often expired keys are swept (they are also dropped when read). Default 60 s. */
  readonly sweepMs?: number;
}

interface Counter {
  total: number;
}

const DEFAULT_MAX_KEYS = 100_000;
const DEFAULT_SWEEP_MS = 60_000;

/**
 * The in-process store: the embedded default, and the local fallback when Redis is down.
 * Each call completes synchronously inside the promise, so every decision is atomic. Limits
 * hold per process only. Evicting a key (more than `maxKeys` live) forgets its usage, so keep
 * `maxKeys` above the number of keys active within a window.
 */
export class MemoryStore implements StateStore {
  readonly #clock: Clock;
  readonly #buckets: ExpiringMap<Tat>;
  /** key → lease id → expiry time. */
  readonly #leases: ExpiringMap<Map<string, number>>;
  readonly #counters: ExpiringMap<Counter>;
  readonly #marks: ExpiringMap<number>;
  readonly #sweepMs: number;
  readonly #onSweep: () => void;
  #sweepTimer: TimerHandle | null;

  constructor(options: MemoryStoreOptions) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    const sweepMs = options.sweepMs ?? DEFAULT_SWEEP_MS;
    if (!Number.isFinite(sweepMs) || sweepMs <= 0) throw new RangeError(`sweepMs must be a positive number, got ${String(sweepMs)}`);
    this.#clock = options.clock;
    this.#buckets = new ExpiringMap(maxKeys);
    this.#leases = new ExpiringMap(maxKeys);
    this.#counters = new ExpiringMap(maxKeys);
    this.#marks = new ExpiringMap(maxKeys);
    this.#sweepMs = sweepMs;
    this.#onSweep = () => {
      this.sweep();
      this.#sweepTimer = this.#clock.setTimer(this.#onSweep, this.#sweepMs);
    };
    this.#sweepTimer = this.#clock.setTimer(this.#onSweep, sweepMs);
  }

  async consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    checkLengths(rules, costs, 'consume');
    const params = rules.map(compileRule);
    for (let i = 0; i < rules.length; i++) checkCost(params[i]!, costs[i]!, rules[i]!.key);
    const now = Math.floor(this.#clock.now());
    const results: LimitResult[] = [];
    for (let i = 0; i < rules.length; i++) {
      const p = params[i]!;
      const key = rules[i]!.key;
      const level = levelAt(this.#buckets.get(key, now) ?? null, now, p.perMs);
      const after = level + costs[i]! * p.perUnit;
      const allowed = after <= p.capacity;
      if (allowed) this.#setLevel(key, after, now, p.perMs);
      results.push(resultOf(p, allowed, allowed ? after : level, costs[i]!));
    }
    return results;
  }

  async adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void> {
    checkLengths(rules, deltas, 'adjust');
    const params = rules.map(compileRule);
    for (let i = 0; i < rules.length; i++) checkDelta(params[i]!, deltas[i]!, rules[i]!.key);
    const now = Math.floor(this.#clock.now());
    for (let i = 0; i < rules.length; i++) {
      const p = params[i]!;
      const key = rules[i]!.key;
      const level = levelAt(this.#buckets.get(key, now) ?? null, now, p.perMs);
      this.#setLevel(key, adjustedLevel(level, deltas[i]!, p.perUnit), now, p.perMs);
    }
  }

  async acquire(key: string, limit: number, leaseMs: number): Promise<string | null> {
    checkAcquire(key, limit, leaseMs);
    const now = Math.floor(this.#clock.now());
    let leases = this.#leases.get(key, now);
    if (leases === undefined) leases = new Map();
    else for (const [id, expiresAt] of leases) if (expiresAt <= now) leases.delete(id);
    if (leases.size >= limit) return null;
    const lease = randomUUID();
    const expiresAt = now + leaseMs;
    leases.set(lease, expiresAt);
    this.#leases.set(key, leases, Math.max(expiresAt, this.#leases.expiresAt(key, now) ?? 0));
    return lease;
  }

  async release(key: string, lease: string): Promise<void> {
    checkKey(key);
    const leases = this.#leases.get(key, Math.floor(this.#clock.now()));
    if (leases === undefined) return;
    leases.delete(lease);
    if (leases.size === 0) this.#leases.delete(key);
  }

  async add(key: string, amount: number, ttlMs: number): Promise<number> {
    checkAdd(key, amount, ttlMs);
    const now = Math.floor(this.#clock.now());
    const counter = this.#counters.get(key, now);
    if (counter !== undefined) {
      counter.total += amount;
      return counter.total;
    }
    // The expiry is fixed by the first write; later adds do not extend it.
    this.#counters.set(key, { total: amount }, now + ttlMs);
    return amount;
  }

  async get(key: string): Promise<number> {
    checkKey(key);
    return this.#counters.get(key, Math.floor(this.#clock.now()))?.total ?? 0;
  }

  async mark(key: string, value: number, ttlMs: number): Promise<void> {
    checkMark(key, value, ttlMs);
    const now = Math.floor(this.#clock.now());
    const current = this.#marks.get(key, now);
    if (current !== undefined && current >= value) return;
    this.#marks.set(key, value, now + ttlMs);
  }

  async marks(keys: readonly string[]): Promise<(number | null)[]> {
    for (const key of keys) checkKey(key);
    const now = Math.floor(this.#clock.now());
    return keys.map((key) => this.#marks.get(key, now) ?? null);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#sweepTimer !== null) this.#clock.clearTimer(this.#sweepTimer);
    this.#sweepTimer = null;
  }

  /** Drops every expired key now (also runs every `sweepMs`). */
  sweep(): void {
    const now = Math.floor(this.#clock.now());
    this.#buckets.sweep(now);
    this.#leases.sweep(now);
    this.#counters.sweep(now);
    this.#marks.sweep(now);
  }

  /** Live keys of each kind, for tests and metrics. */
  get size(): { buckets: number; leases: number; counters: number; marks: number } {
    return { buckets: this.#buckets.size, leases: this.#leases.size, counters: this.#counters.size, marks: this.#marks.size };
  }

  #setLevel(key: string, level: number, now: number, perMs: number): void {
    if (level === 0) this.#buckets.delete(key);
    else this.#buckets.set(key, tatOf(level, now, perMs), drainedAt(level, now, perMs));
  }
}
