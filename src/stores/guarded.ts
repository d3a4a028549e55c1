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
  /** While up, ping the remote once per this many ms, so an outage is noticed with no call made. Default 1000. */
  readonly checkMs?: number;
  /** Calls made before the remote's first answer wait for it at most this long (from construction), then follow the policy. Default 5000. */
  readonly startupWaitMs?: number;
  readonly clock: Clock;
}

/** Marks leases taken from the fallback, so they are released there even after recovery. */
const FALLBACK_LEASE = 'fallback:';
const DEFAULT_RETRY_MS = 1000;
const DEFAULT_CHECK_MS = 1000;
const DEFAULT_STARTUP_WAIT_MS = 5000;
/** While calls wait for the first answer, the remote is pinged this often: a refused connection fails at once, and they should not wait a whole retryMs. */
const STARTUP_RETRY_MS = 50;

/**
 * A remote store with a failure policy. It starts down ("not connected yet"): calls wait for
 * the remote's first answer (at most `startupWaitMs`), so a cold instance does not fail open on
 * its first burst (issue 15). The remote is pinged all the time, every `checkMs` while up and
 * every `retryMs` while down, one ping at a time, so /ready and the metric see an outage
 * without a request. A failed or timed-out call or ping marks the remote down; that call and
 * every later one are then served by the fallback (`open`) or rejected with
 * StoreUnavailableError (`closed`) without waiting on the remote, until a ping answers. State
 * does not move between the two: after recovery the remote's state applies again.
 */
export class GuardedStore implements StateStore {
  readonly #remote: StateStore;
  readonly #fallback: StateStore;
  readonly #policy: FailurePolicy;
  readonly #retryMs: number;
  readonly #checkMs: number;
  readonly #clock: Clock;
  readonly #health: StoreHealth;
  readonly #onProbeTimer: () => void;
  #probeTimer: TimerHandle | null;
  #probing: boolean;
  #closed: boolean;
  /** Pending until the remote first answers or `startupWaitMs` passed; null after. */
  #startup: Promise<void> | null;
  #endStartup: () => void;
  #startupTimer: TimerHandle | null;
  #everUp: boolean;

  constructor(options: GuardedStoreOptions) {
    const retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    const checkMs = options.checkMs ?? DEFAULT_CHECK_MS;
    const startupWaitMs = options.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS;
    if (options.policy !== 'open' && options.policy !== 'closed') throw new TypeError(`failure policy must be "open" or "closed", got ${String(options.policy)}`);
    if (!Number.isFinite(retryMs) || retryMs <= 0) throw new RangeError(`retryMs must be a positive number, got ${String(retryMs)}`);
    if (!Number.isFinite(checkMs) || checkMs <= 0) throw new RangeError(`checkMs must be a positive number, got ${String(checkMs)}`);
    if (!Number.isFinite(startupWaitMs) || startupWaitMs < 0) throw new RangeError(`startupWaitMs must be a non-negative number, got ${String(startupWaitMs)}`);
    this.#remote = options.remote;
    this.#fallback = options.fallback;
    this.#policy = options.policy;
    this.#retryMs = retryMs;
    this.#checkMs = checkMs;
    this.#clock = options.clock;
    this.#health = new StoreHealth(options.clock, false);
    this.#onProbeTimer = () => this.#probe();
    this.#probeTimer = null;
    this.#probing = false;
    this.#closed = false;
    this.#everUp = false;
    this.#endStartup = () => {};
    this.#startup = new Promise<void>((resolve) => (this.#endStartup = resolve));
    this.#startupTimer = this.#clock.setTimer(() => this.#startupOver(), startupWaitMs);
    this.#probe();
  }

  status(): StoreStatus {
    return this.#health.status();
  }

  /** Calls `listener` whenever the remote goes down or recovers (its first answer included); returns an unsubscribe function. */
  onChange(listener: StatusListener): () => void {
    return this.#health.onChange(listener);
  }

  async consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    if (this.#startup !== null) await this.#startup;
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
    if (this.#startup !== null) await this.#startup;
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
    if (this.#startup !== null) await this.#startup;
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
    if (this.#startup !== null) await this.#startup;
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
    if (this.#startup !== null) await this.#startup;
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

  async mark(key: string, value: number, ttlMs: number): Promise<void> {
    if (this.#startup !== null) await this.#startup;
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.mark(key, value, ttlMs);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().mark(key, value, ttlMs);
  }

  async marks(keys: readonly string[]): Promise<(number | null)[]> {
    if (this.#startup !== null) await this.#startup;
    if (this.#health.healthy) {
      const epoch = this.#health.epoch;
      try {
        return await this.#remote.marks(keys);
      } catch (err) {
        this.#failed(err, epoch);
      }
    }
    return this.#local().marks(keys);
  }

  /** Reflects the remote under either policy: rejects with StoreUnavailableError while it is down (or has not answered yet). */
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
    this.#startupOver();
    await Promise.allSettled([this.#remote.close(), this.#fallback.close()]);
  }

  /** A remote failure: rethrows anything that is not a store failure, else marks the remote down. */
  #failed(err: unknown, epoch: number): void {
    if (!isStoreError(err)) throw err;
    if (!this.#health.markDown(err, epoch) || this.#closed) return;
    // Retry on the down schedule, not at the next (later) health check.
    if (this.#probeTimer !== null) this.#clock.clearTimer(this.#probeTimer);
    this.#probeTimer = null;
    this.#scheduleProbe();
  }

  #local(): StateStore {
    if (this.#policy === 'closed') throw this.#unavailable();
    return this.#fallback;
  }

  #unavailable(): StoreUnavailableError {
    const since = this.#health.since;
    const why = this.#everUp ? (this.#health.lastError ?? 'unknown error') : `no answer yet${this.#health.lastError === null ? '' : ` (${this.#health.lastError})`}`;
    return new StoreUnavailableError(`the shared state store is unavailable since ${new Date(since).toISOString()}: ${why}`, since);
  }

  /** Ends the startup wait: calls no longer wait for the first answer. */
  #startupOver(): void {
    if (this.#startupTimer !== null) this.#clock.clearTimer(this.#startupTimer);
    this.#startupTimer = null;
    if (this.#startup === null) return;
    this.#startup = null;
    this.#endStartup();
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probing || this.#probeTimer !== null) return;
    const ms = this.#health.healthy ? this.#checkMs : this.#startup === null ? this.#retryMs : Math.min(STARTUP_RETRY_MS, this.#retryMs);
    this.#probeTimer = this.#clock.setTimer(this.#onProbeTimer, ms);
  }

  #probe(): void {
    this.#probeTimer = null;
    if (this.#closed || this.#probing) return;
    this.#probing = true;
    const epoch = this.#health.epoch;
    this.#remote.ping().then(
      () => {
        this.#probing = false;
        if (this.#closed) return;
        this.#everUp = true;
        this.#health.markUp();
        this.#startupOver();
        this.#scheduleProbe();
      },
      (err: unknown) => {
        this.#probing = false;
        if (this.#closed) return;
        if (this.#health.healthy) this.#health.markDown(err, epoch);
        else this.#health.recordError(err);
        this.#scheduleProbe();
      },
    );
  }
}
