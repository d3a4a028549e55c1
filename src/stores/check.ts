import type { Clock, TimerHandle } from '../lib/clock.js';
import { StoreHealth, type StoreStatus } from './health.js';

/**
 * Asks a backend whether it answers (the database's `SELECT 1`) every `intervalMs` on the
 * clock, one probe at a time, so /ready reports an outage before a request meets it. A probe
 * that has not answered within `intervalMs` counts as a failure.
 */
export class PeriodicCheck {
  readonly #probe: () => Promise<unknown>;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #health: StoreHealth;
  readonly #onTimer: () => void;
  #timer: TimerHandle | null;
  #running: boolean;
  #probing: boolean;

  constructor(probe: () => Promise<unknown>, clock: Clock, intervalMs: number) {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be a positive number, got ${String(intervalMs)}`);
    this.#probe = probe;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    // Healthy until a probe says otherwise: whoever built it has just opened the backend.
    this.#health = new StoreHealth(clock, true);
    this.#onTimer = () => this.#run();
    this.#timer = null;
    this.#running = false;
    this.#probing = false;
  }

  status(): StoreStatus {
    return this.#health.status();
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #run(): void {
    this.#timer = null;
    if (!this.#running || this.#probing) return;
    this.#probing = true;
    let settled = false;
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      this.#clock.clearTimer(deadline);
      this.#probing = false;
      if (err === null) this.#health.markUp();
      else this.#health.markDown(err, this.#health.epoch);
      if (this.#running) this.#timer = this.#clock.setTimer(this.#onTimer, this.#intervalMs);
    };
    const deadline = this.#clock.setTimer(() => finish(new Error(`no answer within ${this.#intervalMs} ms`)), this.#intervalMs);
    let pending: Promise<unknown>;
    try {
      pending = this.#probe();
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      () => finish(null),
      (err: unknown) => finish(err ?? new Error('probe failed')),
    );
  }
}
