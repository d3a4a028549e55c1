import type { CompiledRoute } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { BreakerTransition } from './breaker.js';
import type { HealthChecker } from './health.js';
import { RetryBudget } from './retry.js';
import { createStrategy, type Strategy } from './strategies.js';
import { TargetState } from './target-state.js';

export interface TargetBreakerEvent extends BreakerTransition {
  readonly route: string;
  readonly target: string;
}

/** One route of one config version: its targets' state, its strategy and retry budget. */
export class RouteRuntime {
  readonly route: CompiledRoute;
  readonly targets: readonly TargetState[];
  readonly strategy: Strategy;
  readonly budget: RetryBudget;

  constructor(
    route: CompiledRoute,
    adapters: ReadonlyMap<string, ProviderAdapter>,
    health: ReadonlyMap<string, HealthChecker>,
    clock: Clock,
    onBreakerTransition: (e: TargetBreakerEvent) => void,
    random: () => number = Math.random,
  ) {
    this.route = route;
    this.strategy = createStrategy(route.strategy, { random });
    this.budget = new RetryBudget({ ratio: route.retry.budget, minPerSecond: route.retry.budgetMinPerSecond, windowMs: 10_000 }, clock);
    this.targets = route.targets.map((t, i) => {
      const adapter = adapters.get(t.provider);
      if (adapter === undefined) throw new Error(`route ${route.name}: no adapter for provider "${t.provider}"`);
      const label = `${t.provider}/${t.model ?? '*'}`;
      return new TargetState(i, t, adapter, { breaker: route.breaker, queue: route.queue, batching: route.batching }, clock, health.get(t.provider) ?? null, (e) =>
        onBreakerTransition({ ...e, route: route.name, target: label }),
      );
    });
  }
}

