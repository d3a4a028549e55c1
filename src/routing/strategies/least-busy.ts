import { pickOfTwo } from './two-choices.js';
import type { Candidate, PickRequest, Strategy } from './types.js';

/** Power of two choices on requests in flight. */
export class LeastBusyStrategy implements Strategy {
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(candidates: readonly Candidate[], _request: PickRequest): Candidate | null {
    return pickOfTwo(candidates, this.#random, (c) => c.inFlight);
  }
}
