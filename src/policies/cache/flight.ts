import type { CacheEntry } from './entry.js';
import type { CancelSignal } from '../../lib/cancel.js';
import type { Clock } from '../../lib/clock.js';

/** How a flight's answer is being delivered, once known. */
export type FlightFormat = CacheEntry['format'];

/**
 * One upstream call that identical requests share. The leader (or, across instances, a
 * reader of the leader's published events) feeds it; followers wait for it to start, then
 * read the finished entry or tail the stream's chunks as they arrive.
 */
export class Flight {
  readonly chunks: string[] = [];
  #format: FlightFormat | null = null;
  #state: 'pending' | 'open' | 'done' | 'failed' = 'pending';
  #entry: CacheEntry | null = null;
  #changed: Promise<void>;
  #signal!: () => void;
  readonly #onSettled: (() => void)[] = [];
  /** Followers' waits run on it, so tests move time instead of sleeping. */
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#changed = this.#next();
  }

  /** Calls `fn` once when the flight is done or failed. */
  onSettled(fn: () => void): void {
    if (this.settled) fn();
    else this.#onSettled.push(fn);
  }

  #next(): Promise<void> {
    return new Promise<void>((resolve) => (this.#signal = resolve));
  }

  #wake(): void {
    const signal = this.#signal;
    this.#changed = this.#next();
    signal();
  }

  get format(): FlightFormat | null {
    return this.#format;
  }

  get failed(): boolean {
    return this.#state === 'failed';
  }

  get settled(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  /** The answer is coming in this form. */
  start(format: FlightFormat): void {
    if (this.#state !== 'pending') return;
    this.#format = format;
    this.#state = 'open';
    this.#wake();
  }

  push(chunk: string): void {
    if (this.#state !== 'open') return;
    this.chunks.push(chunk);
    this.#wake();
  }

  /** The answer is complete. */
  finish(entry: CacheEntry): void {
    if (this.settled) return;
    if (this.#format === null) this.#format = entry.format;
    this.#entry = entry;
    this.#state = 'done';
    this.#wake();
    for (const fn of this.#onSettled.splice(0)) fn();
  }

  /** No answer to share (an error, an uncacheable answer, the leader's client left). */
  fail(): void {
    if (this.settled) return;
    this.#state = 'failed';
    this.#wake();
    for (const fn of this.#onSettled.splice(0)) fn();
  }

  /** Resolves when the answer started (with its form), or null if it failed or `timeoutMs` passed first. */
  async started(timeoutMs: number, signal: CancelSignal): Promise<FlightFormat | null> {
    const deadline = this.#clock.monotonic() + timeoutMs;
    while (this.#state === 'pending') {
      const left = deadline - this.#clock.monotonic();
      if (left <= 0 || signal.aborted) return null;
      await waitFor(this.#clock, this.#changed, left, signal);
    }
    return this.#state === 'failed' && this.#format === null ? null : this.#format;
  }

  /** Resolves with the complete entry, or null if the flight failed or `timeoutMs` passed first. */
  async done(timeoutMs: number, signal: CancelSignal): Promise<CacheEntry | null> {
    const deadline = this.#clock.monotonic() + timeoutMs;
    while (!this.settled) {
      const left = deadline - this.#clock.monotonic();
      if (left <= 0 || signal.aborted) return null;
      await waitFor(this.#clock, this.#changed, left, signal);
    }
    return this.#entry;
  }

  /**
   * The stream's chunks from the first, as they arrive; ends when the flight is done, throws
   * `onFail()` when it fails part way.
   */
  async *tail(onFail: () => Error): AsyncGenerator<string> {
    let i = 0;
    for (;;) {
      while (i < this.chunks.length) yield this.chunks[i++]!;
      if (this.#state === 'done') return;
      if (this.#state === 'failed') throw onFail();
      await this.#changed;
    }
  }
}

/** Waits for `p`, at most `ms`, or until `signal` aborts; never rejects. */
function waitFor(clock: Clock, p: Promise<void>, ms: number, signal: CancelSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clock.clearTimer(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(done, ms);
    signal.addEventListener('abort', done, { once: true });
    void p.then(done);
  });
}
