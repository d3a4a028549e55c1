import type { Clock } from '../lib/clock.js';

export interface StoreStatus {
  readonly healthy: boolean;
  /** `clock.now()` at the last change of `healthy`. */
  readonly since: number;
  /** The latest failure's message; kept after recovery until the next failure replaces it. */
  readonly lastError: string | null;
}

export type StatusListener = (status: StoreStatus) => void;

/**
 * Whether the remote store is up, with listeners for /ready, logs and metrics. `epoch`
 * changes on every transition, so a failure reported by a call that started before the
 * latest transition (a straggler) cannot mark a recovered store down again.
 */
export class StoreHealth {
  readonly #clock: Clock;
  readonly #listeners: Set<StatusListener>;
  #healthy: boolean;
  #since: number;
  #lastError: string | null;
  #epoch: number;

  /** `healthy` false: a store that has not answered yet (a starting instance), not a transition. */
  constructor(clock: Clock, healthy = true) {
    this.#clock = clock;
    this.#listeners = new Set();
    this.#healthy = healthy;
    this.#since = clock.now();
    this.#lastError = null;
    this.#epoch = 0;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get since(): number {
    return this.#since;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  /** Marks the store down for a failure seen by a call that started at `epoch`; true when this changed the state. */
  markDown(err: unknown, epoch: number): boolean {
    if (epoch !== this.#epoch) return false;
    this.#lastError = describe(err);
    if (!this.#healthy) return false;
    this.#transition(false);
    return true;
  }

  /** Records a failed probe while down. */
  recordError(err: unknown): void {
    this.#lastError = describe(err);
  }

  markUp(): boolean {
    if (this.#healthy) return false;
    this.#transition(true);
    return true;
  }

  status(): StoreStatus {
    return { healthy: this.#healthy, since: this.#since, lastError: this.#lastError };
  }

  /** Calls `listener` after every change; returns a function that removes it. */
  onChange(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #transition(healthy: boolean): void {
    this.#healthy = healthy;
    this.#since = this.#clock.now();
    this.#epoch++;
    const status = this.status();
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch {
        // An observer's bug must not change how the store behaves.
      }
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
