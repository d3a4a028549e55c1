import type { Clock, TimerHandle } from '../lib/clock.js';
import { isStoreError, StoreUnavailableError } from './errors.js';
import { StoreHealth, type StatusListener, type StoreStatus } from './health.js';
import type { LimitResult, LimitRule, StateStore } from './types.js';

/** `open`: serve from the local fallback (limits then hold per instance); `closed`: reject. */
export type FailurePolicy = 'open' | 'closed';

export interface GuardedStoreOptions {
  /** The shared store (Redis). Its failures must be StoreErrors; anything else (a bad argument) propagates. */
  readonly remote: StateStore;
  /** A MemoryStore, used under the `open` policy while the remote is down. */
  readonly fallback: StateStore;
  readonly policy: FailurePolicy;
  /** While down, ping the remote once per this many ms, one ping at a time. Default 1000. */
  readonly retryMs?: number;
  readonly clock: Clock;
}

/** Marks leases taken from the fallback, so they are released there even after recovery. */
const FALLBACK_LEASE = 'fallback:';
const DEFAULT_RETRY_MS = 1000;

/**
 * A remote store with a failure policy. The first failed or timed-out call marks the remote
 * down; that call and every later one are then served by the fallback (`open`) or rejected
 * with StoreUnavailableError (`closed`) without waiting on the remote, which is pinged every
 * `retryMs` until it answers, and used again from then on. State does not move between the
 * two: after recovery the remote's state applies again (empty if Redis restarted).
 */
export class GuardedStore implements StateStore {
  readonly #remote: StateStore;
  readonly #fallback: StateStore;
  readonly #policy: FailurePolicy;
  readonly #retryMs: number;
  readonly #clock: Clock;
  readonly #health: StoreHealth;
  readonly #onProbeTimer: () => void;
  #probeTimer: TimerHandle | null;
  #probing: boolean;
  #closed: boolean;

  constructor(options: GuardedStoreOptions) {
    const retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    if (options.policy !== 'open' && options.policy !== 'closed') throw new TypeError(`failure policy must be "open" or "closed", got ${String(options.policy)}`);
    if (!Number.isFinite(retryMs) || retryMs <= 0) throw new RangeError(`retryMs must be a positive number, got ${String(retryMs)}`);
    this.#remote = options.remote;
    this.#fallback = options.fallback;
    this.#policy = options.policy;
    this.#retryMs = retryMs;
    this.#clock = options.clock;
    this.#health = new StoreHealth(options.clock);
    this.#onProbeTimer = () => this.#probe();
    this.#probeTimer = null;
    this.#probing = false;
    this.#closed = false;
  }

  status(): StoreStatus {
    return this.#health.status();
  }

  /** Calls `listener` whenever the remote goes down or recovers; returns an unsubscribe function. */
  onChange(listener: StatusListener): () => void {
    return this.#health.onChange(listener);
  }

  async consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.consume(rules, costs);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().consume(rules, costs);
  }

  async adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.adjust(rules, deltas);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().adjust(rules, deltas);
  }

  async acquire(key: string, limit: number, leaseMs: number): Promise<string | null> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.acquire(key, limit, leaseMs);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    const lease = await this.#local().acquire(key, limit, leaseMs);
    return lease === null ? null : FALLBACK_LEASE + lease;
  }

  /** Never rejects for an unavailable remote: a lease that cannot be released expires after its leaseMs. */
  async release(key: string, lease: string): Promise<void> {
    if (lease.startsWith(FALLBACK_LEASE)) return this.#fallback.release(key, lease.slice(FALLBACK_LEASE.length));
    if (!this.#health.healthy) return;
    const epoch = this.#health.epoch;
    try {
      await this.#remote.release(key, lease);
    } catch (err) {
      this.#failed(err, epoch);
    }
  }

  async add(key: string, amount: number, ttlMs: number): Promise<number> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.add(key, amount, ttlMs);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().add(key, amount, ttlMs);
  }

  async get(key: string): Promise<number> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.get(key);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().get(key);
  }

  /** Reflects the remote under either policy: rejects with StoreUnavailableError while it is down. */
  async ping(): Promise<void> {
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.ping();
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    throw this.#unavailable();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probeTimer !== null) this.#clock.clearTimer(this.#probeTimer);
    this.#probeTimer = null;
    await Promise.allSettled([this.#remote.close(), this.#fallback.close()]);
  }

  /** A remote failure: rethrows anything that is not a store failure, else marks the remote down. */
  #failed(err: unknown, epoch: number): void {
    if (!isStoreError(err)) throw err;
    if (this.#health.markDown(err, epoch)) this.#scheduleProbe();
  }

  #local(): StateStore {
    if (this.#policy === 'closed') throw this.#unavailable();
    return this.#fallback;
  }

  #unavailable(): StoreUnavailableError {
    const since = this.#health.since;
    return new StoreUnavailableError(`the shared state store is unavailable since ${new Date(since).toISOString()}: ${this.#health.lastError ?? 'unknown error'}`, since);
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probing || this.#probeTimer !== null) return;
    this.#probeTimer = this.#clock.setTimer(this.#onProbeTimer, this.#retryMs);
  }

  #probe(): void {
    this.#probeTimer = null;
    if (this.#closed) return;
    this.#probing = true;
    this.#remote.ping().then(
      () => {
        this.#probing = false;
        if (!this.#closed) this.#health.markUp();
      },
      (err: unknown) => {
        this.#probing = false;
        this.#health.recordError(err);
        this.#scheduleProbe();
      },
    );
  }
}
