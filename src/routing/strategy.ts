import type { CompiledRoute, CompiledTarget } from '../config/compile.js';

/**
 * Chooses the target of a route for one request. The routing issue adds weighted,
 * least-busy, latency, cost, region and failover strategies behind this interface.
 */
export interface Strategy {
  pick(route: CompiledRoute): CompiledTarget;
}

/** Always the first target. */
export class FirstTarget implements Strategy {
  pick(route: CompiledRoute): CompiledTarget {
    return route.targets[0]!;
  }
}
