import type { Clock } from '../lib/clock.js';

/**
 * Peak-sensitive exponentially weighted moving average of latency (Finagle's peak EWMA, as in
 * Linkerd's balancer): a sample above the current value replaces it at once, so a target that
 * turns slow is avoided immediately; a lower sample pulls the value toward itself with weight
 * `w = exp(-elapsed / decayMs)` for the old value, so recovery is believed only gradually.
 *
 * `elapsed` is the time since the previous sample: the longer the gap, the more the new sample
 * counts. Two samples at the same instant give the second (if lower) no weight.
 *
 * Before any sample the value is 0: an unmeasured target looks fastest, so a latency strategy
 * tries it and measures it. The value does not decay while no samples arrive: a target that is
 * never picked keeps its last estimate (the latency strategy's in-flight term still sends it
 * traffic when its faster peers are busy).
 */
export class PeakEwma {
  readonly #decayMs: number;
  readonly #clock: Clock;
  #value: number;
  #stamp: number;
  #measured: boolean;

  constructor(decayMs: number, clock: Clock) {
    if (!(Number.isFinite(decayMs) && decayMs > 0)) throw new RangeError(`decayMs must be a positive finite number, got ${decayMs}`);
    this.#decayMs = decayMs;
    this.#clock = clock;
    this.#value = 0;
    this.#stamp = 0;
    this.#measured = false;
  }

  observe(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`latency must be a non-negative finite number, got ${ms}`);
    const now = this.#clock.monotonic();
    if (!this.#measured || ms > this.#value) {
      this.#value = ms;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
      this.#value = this.#value * w + ms * (1 - w);
    }
    this.#stamp = now;
    this.#measured = true;
  }

  /** Current estimate in ms; 0 before any sample. */
  value(): number {
    return this.#value;
  }
}
