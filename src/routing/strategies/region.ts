import { lowestIndex, type Candidate, type PickRequest, type Strategy } from './types.js';

/**
 * The first candidate (in index order) in the request's region, else the first candidate: the
 * route's target order is the operator's preference within and across regions. A request with
 * no region has no preference.
 */
export class RegionStrategy implements Strategy {
  pick(candidates: readonly Candidate[], request: PickRequest): Candidate | null {
    let local: Candidate | null = null;
    if (request.region !== null) {
      for (const c of candidates) if (c.region === request.region && (local === null || c.index < local.index)) local = c;
    }
    return local ?? lowestIndex(candidates);
  }
}
