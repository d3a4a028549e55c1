import type { Clock } from '../lib/clock.js';
import { openRedis, type RedisConnection } from './connection.js';
import { GuardedStore, type FailurePolicy } from './guarded.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { StateStore } from './types.js';

export type { ConcurrencyStore, CounterStore, LimiterStore, LimitResult, LimitRule, StateStore } from './types.js';
export type { StoreStatus, StatusListener } from './health.js';
export type { FailurePolicy } from './guarded.js';
export { StoreError, StoreTimeoutError, StoreUnavailableError, isStoreError } from './errors.js';
export { GuardedStore } from './guarded.js';
export { MemoryStore } from './memory.js';
export { RedisStore } from './redis.js';
export { openRedis, type RedisConnection, type RedisMode } from './connection.js';

export interface StateStoreOptions {
  /** Absent: the in-process store (one instance only). */
  readonly redis?: RedisConnection;
  /** Key prefix in Redis. Default "sluice:". */
  readonly prefix?: string;
  /** Bound on every Redis call, ms, not counting the gateway's own event-loop lag. Default 500. */
  readonly timeoutMs?: number;
  /** What happens while Redis is down. Default "open". */
  readonly failure?: FailurePolicy;
  /** While Redis is down, ping it this often, ms. Default 1000. */
  readonly retryMs?: number;
  /** While Redis is up, ping it this often, ms, so /ready notices an outage with no request sent. Default 1000. */
  readonly checkMs?: number;
  /** How long calls of a starting instance wait for Redis's first answer before the failure policy applies, ms. Default 5000. */
  readonly startupWaitMs?: number;
  /** Most keys of each kind the memory store (or fallback) keeps. Default 100,000. */
  readonly maxKeys?: number;
  readonly clock: Clock;
}

const DEFAULT_TIMEOUT_MS = 500;

/**
 * The store the gateway shares its limits, leases and budgets through: a MemoryStore without
 * `redis`, else a RedisStore behind a GuardedStore (with a MemoryStore fallback for `open`).
 * Checks its options and throws at construction.
 */
export function createStateStore(options: StateStoreOptions): StateStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const failure = options.failure ?? 'open';
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`state.timeout must be a positive number of ms, got ${String(timeoutMs)}`);
  if (failure !== 'open' && failure !== 'closed') throw new TypeError(`state.failure must be "open" or "closed", got ${String(failure)}`);
  const memory = new MemoryStore({ clock: options.clock, ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }) });
  if (options.redis === undefined) return memory;
  const client = openRedis(options.redis, {
    // Fail fast while disconnected instead of queueing: the GuardedStore then serves the call
    // by the failure policy.
    offlineQueue: false,
    // No ioredis commandTimeout: its timer fires in the loop's timers phase, before a reply
    // already waiting in the socket is read, so a busy gateway would time out a healthy Redis.
    // RedisStore bounds every call itself, lag-aware (issue 15).
    commandTimeoutMs: null,
    connectTimeoutMs: Math.max(1000, timeoutMs),
  });
  const remote = new RedisStore({ client, clock: options.clock, timeoutMs, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  return new GuardedStore({
    remote,
    fallback: memory,
    policy: failure,
    clock: options.clock,
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
    ...(options.checkMs === undefined ? {} : { checkMs: options.checkMs }),
    ...(options.startupWaitMs === undefined ? {} : { startupWaitMs: options.startupWaitMs }),
  });
}

