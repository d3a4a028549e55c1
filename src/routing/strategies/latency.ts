import { pickOfTwo } from './two-choices.js';
import type { Candidate, PickRequest, Strategy } from './types.js';

/**
 * Power of two choices on Finagle's peak-EWMA load score, `latency * (inFlight + 1)`: a slow
 * target is avoided, and so is a fast one that is already busy. An unmeasured candidate
 * (latency 0) scores 0, so it wins any pair it is drawn in and gets measured; exploration stays
 * bounded by the sampling (it is not sent every request until its first answer comes back).
 */
export class LatencyStrategy implements Strategy {
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(candidates: readonly Candidate[], _request: PickRequest): Candidate | null {
    return pickOfTwo(candidates, this.#random, (c) => c.latency * (c.inFlight + 1));
  }
}
