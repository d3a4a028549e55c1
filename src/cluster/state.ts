import type { LimitResult, LimitRule, StateStore } from '../stores/types.js';
import type { PrimaryChannel } from './channel.js';

/**
 * The embedded state store of a cluster worker (`server.workers` without `state.redis`): each
 * call runs on the primary's one in-memory store, so limits, concurrency caps, budgets and
 * session revocations hold across the workers as they do across instances sharing Redis.
 * A call costs one IPC round trip, as a Redis call costs one network round trip.
 */
export class WorkerStateStore implements StateStore {
  readonly #channel: PrimaryChannel;

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
  }

  consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    return this.#channel.call('state.consume', rules, costs);
  }

  adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void> {
    return this.#channel.call('state.adjust', rules, deltas);
  }

  acquire(key: string, limit: number, leaseMs: number): Promise<string | null> {
    return this.#channel.call('state.acquire', key, limit, leaseMs);
  }

  release(key: string, lease: string): Promise<void> {
    return this.#channel.call('state.release', key, lease);
  }

  add(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.#channel.call('state.add', key, amount, ttlMs);
  }

  get(key: string): Promise<number> {
    return this.#channel.call('state.get', key);
  }

  mark(key: string, value: number, ttlMs: number): Promise<void> {
    return this.#channel.call('state.mark', key, value, ttlMs);
  }

  marks(keys: readonly string[]): Promise<(number | null)[]> {
    return this.#channel.call('state.marks', keys);
  }

  ping(): Promise<void> {
    return this.#channel.call('state.ping');
  }

  /** The store is the primary's: it closes with the primary. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
