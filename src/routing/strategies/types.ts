/**
 * What a strategy reads about one target. The integrator implements it over its per-target
 * state; strategies never keep references to candidates between calls.
 */
export interface Candidate {
  /** Position in the route's target list: the stable id strategies key their state by. */
  readonly index: number;
  /** >= 0. */
  readonly weight: number;
  readonly inFlight: number;
  readonly region: string | null;
  /** Peak-EWMA milliseconds; 0 = unmeasured. */
  readonly latency: number;
  /** USD per 1M tokens; null = unknown. */
  readonly price: { input: number; output: number } | null;
}

export interface PickRequest {
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly region: string | null;
}

/**
 * Chooses one target for a request. `candidates` is already filtered to healthy targets and
 * may be any subset of the route's targets, in any order, changing from call to call.
 * Returns null only when `candidates` is empty.
 */
export interface Strategy {
  pick(candidates: readonly Candidate[], request: PickRequest): Candidate | null;
}

export type StrategyName = 'weighted' | 'least-busy' | 'latency' | 'cost' | 'region' | 'failover';

/** The first candidate in index order (candidates may arrive in any order). */
export function lowestIndex(candidates: readonly Candidate[]): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) if (best === null || c.index < best.index) best = c;
  return best;
}
