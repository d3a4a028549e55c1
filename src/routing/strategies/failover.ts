import { lowestIndex, type Candidate, type PickRequest, type Strategy } from './types.js';

/** The first healthy target in the route's order; the others are standbys. */
export class FailoverStrategy implements Strategy {
  pick(candidates: readonly Candidate[], _request: PickRequest): Candidate | null {
    return lowestIndex(candidates);
  }
}
