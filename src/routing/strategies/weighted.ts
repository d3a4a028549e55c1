import type { Candidate, PickRequest, Strategy } from './types.js';

/**
 * Smooth weighted round robin (nginx): each pick adds every candidate's weight to its
 * `current`, picks the largest `current` (ties: lower index) and subtracts the total weight
 * from it. Picks interleave (5,1,1 gives a a b a c a a, not a a a a a b c) and every window of
 * `total` consecutive picks over a stable set matches the weights exactly.
 *
 * State is kept per index. A candidate missing from a call (unhealthy, breaker open, already
 * tried by this request) keeps its `current` frozen until it is offered again, as nginx does
 * for down and tried peers. Every pick adds the offered total and takes it back off, so the sum
 * of all `current`s stays 0 and a frozen value stays small: a returning candidate is picked a
 * little early or late for about one round, and the proportions hold from there.
 *
 * Weight 0 is never picked while some candidate has a positive weight; when all are 0 they
 * share equally (round robin), as a route whose weights all drain to 0 still has to answer.
 */
export class WeightedStrategy implements Strategy {
  readonly #current = new Map<number, number>();

  pick(candidates: readonly Candidate[], _request: PickRequest): Candidate | null {
    if (candidates.length === 0) return null;
    let total = 0;
    for (const c of candidates) total += weightOf(c);
    const equal = total === 0;
    if (equal) total = candidates.length;
    let best: Candidate | null = null;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    for (const c of candidates) {
      const w = equal ? 1 : weightOf(c);
      const cur = (this.#current.get(c.index) ?? 0) + w;
      this.#current.set(c.index, cur);
      if (w === 0) continue;
      if (best === null || cur > bestCurrent || (cur === bestCurrent && c.index < best.index)) {
        best = c;
        bestCurrent = cur;
      }
    }
    this.#current.set(best!.index, bestCurrent - total);
    return best;
  }
}

/** Negative or non-finite weights count as 0, so a bad value cannot poison the sums. */
function weightOf(c: Candidate): number {
  return Number.isFinite(c.weight) && c.weight > 0 ? c.weight : 0;
}
