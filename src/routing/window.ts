/**
 * A sliding-window sum kept in a fixed ring of time buckets, so recording and reading cost
 * O(buckets) at worst and allocate nothing per event.
 *
 * Accuracy: the ring holds `buckets` full buckets plus the current, partly filled one, so an
 * event recorded at time t is counted from t until the end of its bucket + `windowMs`: for at
 * least `windowMs` and at most `windowMs + windowMs / buckets`. The window therefore never
 * forgets an event early (a limiter built on it never exceeds a provider's rolling limit),
 * at the price of holding each event up to one bucket too long.
 *
 * Times are the caller's (monotonic) milliseconds; a time earlier than one already seen is
 * treated as the newest bucket, so a clock that steps back never loses counts.
 */
export class RollingCounter {
  readonly #bucketMs: number;
  readonly #slots: number;
  /** Bucket id held by each slot; NaN marks an unused slot. */
  readonly #ids: Float64Array;
  readonly #counts: Float64Array;
  #newest: number;
  #total: number;

  constructor(windowMs: number, buckets: number) {
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError('windowMs must be a positive finite number');
    if (!(Number.isInteger(buckets) && buckets >= 1)) throw new RangeError('buckets must be a positive integer');
    this.#bucketMs = windowMs / buckets;
    this.#slots = buckets + 1;
    this.#ids = new Float64Array(this.#slots).fill(Number.NaN);
    this.#counts = new Float64Array(this.#slots);
    this.#newest = Number.NEGATIVE_INFINITY;
    this.#total = 0;
  }

  add(now: number, n: number): void {
    const id = this.#roll(now);
    this.#counts[this.#slot(id)]! += n;
    this.#total += n;
  }

  total(now: number): number {
    this.#roll(now);
    return this.#total;
  }

  /** Removes up to `n` from the oldest buckets first (see CapacityGate for why oldest). */
  subtractOldest(now: number, n: number): void {
    const newest = this.#roll(now);
    let left = n;
    for (let id = newest - this.#slots + 1; id <= newest && left > 0; id++) {
      const slot = this.#slot(id);
      if (this.#ids[slot] !== id) continue;
      const take = Math.min(left, this.#counts[slot]!);
      this.#counts[slot]! -= take;
      this.#total -= take;
      left -= take;
    }
  }

  /** Milliseconds from `now` until the sum drops to `threshold` or below (0 if it already has). */
  msUntilAtMost(now: number, threshold: number): number {
    const newest = this.#roll(now);
    if (this.#total <= threshold) return 0;
    let remaining = this.#total;
    for (let id = newest - this.#slots + 1; id <= newest; id++) {
      const slot = this.#slot(id);
      if (this.#ids[slot] !== id) continue;
      remaining -= this.#counts[slot]!;
      if (remaining <= threshold) return Math.max(0, (id + this.#slots) * this.#bucketMs - now);
    }
    return Math.max(0, (newest + this.#slots) * this.#bucketMs - now);
  }

  reset(): void {
    this.#ids.fill(Number.NaN);
    this.#counts.fill(0);
    this.#total = 0;
  }

  #slot(id: number): number {
    const s = id % this.#slots;
    return s < 0 ? s + this.#slots : s;
  }

  /** Moves the ring forward to `now`, clearing buckets that left the window; returns the newest bucket id. */
  #roll(now: number): number {
    const id = Math.floor(now / this.#bucketMs);
    if (id <= this.#newest) return this.#newest;
    if (id - this.#newest >= this.#slots) {
      this.reset();
    } else {
      for (let k = this.#newest + 1; k <= id; k++) {
        const slot = this.#slot(k);
        this.#total -= this.#counts[slot]!;
        this.#counts[slot] = 0;
        this.#ids[slot] = k;
      }
    }
    this.#ids[this.#slot(id)] = id;
    this.#newest = id;
    // Adding and subtracting fractions can leave dust; an empty window is exactly zero.
    if (Math.abs(this.#total) < 1e-9) this.#total = 0;
    return id;
  }
}
