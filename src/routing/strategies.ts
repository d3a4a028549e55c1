import { CostStrategy } from './strategies/cost.js';
import { FailoverStrategy } from './strategies/failover.js';
import { LatencyStrategy } from './strategies/latency.js';
import { LeastBusyStrategy } from './strategies/least-busy.js';
import { RegionStrategy } from './strategies/region.js';
import type { Strategy, StrategyName } from './strategies/types.js';
import { WeightedStrategy } from './strategies/weighted.js';

export type { Candidate, PickRequest, Strategy, StrategyName } from './strategies/types.js';
export { CostStrategy, FailoverStrategy, LatencyStrategy, LeastBusyStrategy, RegionStrategy, WeightedStrategy };

export const STRATEGY_NAMES: readonly StrategyName[] = ['weighted', 'least-busy', 'latency', 'cost', 'region', 'failover'];

/**
 * A new strategy instance. `weighted` keeps per-target state, so create one per route and
 * keep it for the route's lifetime. `random` (default Math.random) drives the two-choice
 * sampling of `least-busy` and `latency`; tests pass a seeded generator.
 */
export function createStrategy(name: StrategyName, options: { random?: () => number } = {}): Strategy {
  const random = options.random ?? Math.random;
  switch (name) {
    case 'weighted':
      return new WeightedStrategy();
    case 'least-busy':
      return new LeastBusyStrategy(random);
    case 'latency':
      return new LatencyStrategy(random);
    case 'cost':
      return new CostStrategy();
    case 'region':
      return new RegionStrategy();
    case 'failover':
      return new FailoverStrategy();
    default: {
      // Reached only from untyped input (a config value cast to StrategyName).
      const unknown: never = name;
      throw new RangeError(`unknown strategy "${String(unknown)}"`);
    }
  }
}
