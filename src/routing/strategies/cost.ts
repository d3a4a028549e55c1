import type { Candidate, PickRequest, Strategy } from './types.js';

/**
 * The cheapest expected cost, `promptTokens * input + maxTokens * output` (maxTokens is the
 * worst case the client allowed). Unknown prices sort last; ties go to the lower index.
 */
export class CostStrategy implements Strategy {
  pick(candidates: readonly Candidate[], request: PickRequest): Candidate | null {
    let best: Candidate | null = null;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const c of candidates) {
      const cost = c.price === null ? Number.POSITIVE_INFINITY : request.promptTokens * c.price.input + request.maxTokens * c.price.output;
      if (best === null || cost < bestCost || (cost === bestCost && c.index < best.index)) {
        best = c;
        bestCost = cost;
      }
    }
    return best;
  }
}
