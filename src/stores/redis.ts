import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { StoreError, StoreTimeoutError } from './errors.js';
import { checkCost, checkDelta, checkLengths, compileRule, resultOf } from './gcra.js';
import { isNoScript, scripts, type LuaScript, type ScriptArg } from './lua.js';
import { checkAcquire, checkAdd, checkKey, checkMark } from './validate.js';
import type { LimitResult, LimitRule, StateStore } from './types.js';

export interface RedisStoreOptions {
  /** A standalone client or a Cluster; create it with `enableOfflineQueue: false` so calls fail fast while disconnected. */
  readonly client: Redis | Cluster;
  readonly clock: Clock;
  /** Prepended to every key. Default "sluice:". */
  readonly prefix?: string;
  /** Every call settles within this many ms (on `clock`, lag-aware: see #bounded), or rejects with StoreTimeoutError. Default 500. */
  readonly timeoutMs?: number;
  /** Whether close() disconnects the client. Default true. */
  readonly ownsClient?: boolean;
}

/**
 * Keys outlive the moment their state is worth nothing by this much, so an instance whose
 * clock runs up to this far behind the writer's still finds the key (the TTL runs on Redis's
 * clock, the state on the callers').
 */
export const KEY_TTL_SLACK_MS = 1000;
const DEFAULT_TIMEOUT_MS = 500;
/** A timer this late (ms) means the event loop was blocked, not that Redis was slow. */
const LAG_TOLERANCE_MS = 10;
/** However much the loop lags, a call is given up after this many times timeoutMs. */
const LAG_CAP = 10;

/** What a Redis key holds: a GCRA bucket, a lease set or a counter. */
export type KeyKind = 'gcra' | 'leases' | 'counter' | 'mark';

/**
 * The shared store over Redis: one Lua script per operation, one key per script, keys named
 * `${prefix}{${key}}:${kind}` so the hash tag puts each in its own Cluster slot. `consume` and
 * `adjust` send all their rules in one round trip: one pipeline on a standalone server, and
 * concurrent commands on a Cluster (where a pipeline may not span slots on different nodes).
 * Times come from the injected clock, so instances' clocks must be NTP-synced: a skew of s ms
 * between two instances shifts the window edges they see by s ms (docs/limits.md).
 */
export class RedisStore implements StateStore {
  readonly #client: Redis | Cluster;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #ownsClient: boolean;
  /** Resolves at the client's first `ready`; null once it has been ready. */
  #firstReady: Promise<void> | null;

  constructor(options: RedisStoreOptions) {
    const prefix = options.prefix ?? 'sluice:';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    this.#client = options.client;
    this.#clock = options.clock;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#ownsClient = options.ownsClient ?? true;
    this.#firstReady = null;
    if (this.#client.status !== 'ready') {
      this.#firstReady = new Promise((resolve) => this.#client.once('ready', resolve)).then(() => {
        this.#firstReady = null;
      });
    }
  }

  /** The Redis key that holds `key`'s state of `kind`. */
  keyFor(key: string, kind: KeyKind): string {
    return `${this.#prefix}{${key}}:${kind}`;
  }

  async consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    checkLengths(rules, costs, 'consume');
    const params = rules.map(compileRule);
    for (let i = 0; i < rules.length; i++) checkCost(params[i]!, costs[i]!, rules[i]!.key);
    if (rules.length === 0) return [];
    const now = Math.floor(this.#clock.now());
    const keys: string[] = [];
    const args: ScriptArg[][] = [];
    for (let i = 0; i < rules.length; i++) {
      const p = params[i]!;
      keys.push(this.keyFor(rules[i]!.key, 'gcra'));
      args.push([now, p.perMs, p.perUnit, p.capacity, costs[i]!, KEY_TTL_SLACK_MS]);
    }
    const replies = await this.#bounded(this.#runAll(scripts.consume, keys, args));
    return replies.map((reply, i) => {
      const [allowed, level] = decision(reply);
      return resultOf(params[i]!, allowed === 1, level, costs[i]!);
    });
  }

  async adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void> {
    checkLengths(rules, deltas, 'adjust');
    const params = rules.map(compileRule);
    for (let i = 0; i < rules.length; i++) checkDelta(params[i]!, deltas[i]!, rules[i]!.key);
    if (rules.length === 0) return;
    const now = Math.floor(this.#clock.now());
    const keys: string[] = [];
    const args: ScriptArg[][] = [];
    for (let i = 0; i < rules.length; i++) {
      const p = params[i]!;
      keys.push(this.keyFor(rules[i]!.key, 'gcra'));
      args.push([now, p.perMs, p.perUnit, deltas[i]!, KEY_TTL_SLACK_MS]);
    }
    await this.#bounded(this.#runAll(scripts.adjust, keys, args));
  }

  async acquire(key: string, limit: number, leaseMs: number): Promise<string | null> {
    checkAcquire(key, limit, leaseMs);
    const lease = randomUUID();
    const args = [Math.floor(this.#clock.now()), limit, leaseMs, lease, KEY_TTL_SLACK_MS];
    const taken = await this.#bounded(this.#run(scripts.acquire, this.keyFor(key, 'leases'), args));
    return taken === 1 ? lease : null;
  }

  async release(key: string, lease: string): Promise<void> {
    checkKey(key);
    await this.#bounded(this.#command(() => this.#client.zrem(this.keyFor(key, 'leases'), lease)));
  }

  async add(key: string, amount: number, ttlMs: number): Promise<number> {
    checkAdd(key, amount, ttlMs);
    const args = [Math.floor(this.#clock.now()), String(amount), ttlMs, KEY_TTL_SLACK_MS];
    const total = Number(await this.#bounded(this.#run(scripts.add, this.keyFor(key, 'counter'), args)));
    if (!Number.isFinite(total)) throw new StoreError(`unexpected reply from the counter script for "${key}"`);
    return total;
  }

  async get(key: string): Promise<number> {
    checkKey(key);
    const now = Math.floor(this.#clock.now());
    const [total, expires] = await this.#bounded(this.#command(() => this.#client.hmget(this.keyFor(key, 'counter'), 'v', 'e')));
    if (total === null || total === undefined || expires === null || expires === undefined || Number(expires) <= now) return 0;
    return Number(total);
  }

  async mark(key: string, value: number, ttlMs: number): Promise<void> {
    checkMark(key, value, ttlMs);
    await this.#bounded(this.#run(scripts.mark, this.keyFor(key, 'mark'), [Math.floor(this.#clock.now()), String(value), ttlMs, KEY_TTL_SLACK_MS]));
  }

  async marks(keys: readonly string[]): Promise<(number | null)[]> {
    for (const key of keys) checkKey(key);
    const now = Math.floor(this.#clock.now());
    // Written to the connection back to back: one round trip for all of them.
    const replies = await this.#bounded(this.#command(() => Promise.all(keys.map((key) => this.#client.hmget(this.keyFor(key, 'mark'), 'v', 'e')))));
    return replies.map(([value, expires]) => (value === null || value === undefined || expires === null || expires === undefined || Number(expires) <= now ? null : Number(value)));
  }

  async ping(): Promise<void> {
    await this.#bounded(this.#command(() => this.#client.ping()));
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    try {
      await this.#bounded(this.#client.quit());
    } catch {
      // Not connected, or no answer in time: drop the connection either way.
    } finally {
      this.#client.disconnect();
    }
  }

  /**
   * Settles with `work` or, after timeoutMs on the clock, with StoreTimeoutError; failures
   * become StoreErrors. Time this process's own event loop was blocked does not count (issue
   * 15): a healthy Redis must not be declared down because the gateway was busy. So when the
   * timer fires, (1) the verdict waits for one turn of the loop's I/O phase (setImmediate runs
   * after it), since a timer that fires late is run before a reply already waiting in the
   * socket is read; and (2) if the timer fired late, the loop was blocked for at least that
   * long, and that much time is granted again (a call of two round trips, such as EVALSHA then
   * EVAL, needs its second one). At most `LAG_CAP` times timeoutMs in all.
   */
  #bounded<T>(work: Promise<T>): Promise<T> {
    const clock = this.#clock;
    const timeoutMs = this.#timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const started = clock.monotonic();
      let due = started + timeoutMs;
      let settled = false;
      let timer: TimerHandle;
      const verdict = (late: number): void => {
        if (settled) return;
        const now = clock.monotonic();
        if (late > LAG_TOLERANCE_MS && now + late - started <= timeoutMs * LAG_CAP) {
          due = now + late;
          timer = clock.setTimer(onTimer, late);
          return;
        }
        settled = true;
        reject(new StoreTimeoutError(timeoutMs));
      };
      const onTimer = (): void => {
        const late = clock.monotonic() - due;
        setImmediate(verdict, late);
      };
      timer = clock.setTimer(onTimer, timeoutMs);
      work.then(
        (value) => {
          if (settled) return;
          settled = true;
          clock.clearTimer(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clock.clearTimer(timer);
          reject(toStoreError(err, timeoutMs));
        },
      );
    });
  }

  /**
   * Waits for the client's first connection only: with the offline queue off, a call made
   * while ioredis is still connecting at startup would otherwise fail at once. After that,
   * calls made while disconnected fail fast.
   */
  #connected(): Promise<void> | null {
    if (this.#firstReady !== null && this.#client.status !== 'reconnecting' && this.#client.status !== 'end') return this.#firstReady;
    return null;
  }

  /**
   * Sends at once when the client is connected: the command is written in the caller's turn,
   * so its reply can arrive while the caller's loop is busy with other work (#bounded counts
   * on that). Only the first connection is waited for.
   */
  #command<T>(send: () => Promise<T>): Promise<T> {
    const ready = this.#connected();
    if (ready !== null) return ready.then(send);
    try {
      return send();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new StoreError(String(err)));
    }
  }

  #run(script: LuaScript, key: string, args: readonly ScriptArg[]): Promise<unknown> {
    return this.#command(() => script.run(this.#client, key, args));
  }

  #runAll(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[][]): Promise<unknown[]> {
    return this.#command(() => this.#sendAll(script, keys, args));
  }

  async #sendAll(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[][]): Promise<unknown[]> {
    if (keys.length === 1) return [await script.run(this.#client, keys[0]!, args[0]!)];
    if (this.#client.isCluster) return Promise.all(keys.map((key, i) => script.run(this.#client, key, args[i]!)));
    const pipeline = this.#client.pipeline();
    for (let i = 0; i < keys.length; i++) pipeline.evalsha(script.sha, 1, keys[i]!, ...args[i]!);
    const replies = await pipeline.exec();
    if (replies === null) throw new StoreError('the Redis pipeline was discarded');
    const out: Promise<unknown>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const [err, value] = replies[i]!;
      if (err === null) out.push(Promise.resolve(value));
      // The script did not run (not cached on this server yet): send its source instead.
      else if (isNoScript(err)) out.push(this.#client.eval(script.source, 1, keys[i]!, ...args[i]!));
      else throw err;
    }
    return Promise.all(out);
  }
}

function decision(reply: unknown): [number, number] {
  if (Array.isArray(reply) && reply.length === 2 && typeof reply[0] === 'number' && typeof reply[1] === 'number') return [reply[0], reply[1]];
  throw new StoreError(`unexpected reply from the limit script: ${JSON.stringify(reply)}`);
}

function toStoreError(err: unknown, timeoutMs: number): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message === 'Command timed out') return new StoreTimeoutError(timeoutMs, err);
  return new StoreError(`redis: ${message}`, { cause: err });
}
