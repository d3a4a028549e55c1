import type { CompiledRoute } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { BreakerTransition } from './breaker.js';
import type { HealthChecker } from './health.js';
import { RetryBudget } from './retry.js';
import { createStrategy, type Strategy } from './strategies.js';
import { TargetState } from './target-state.js';
import { sameValue } from '../lib/same.js';
import type { LimiterStore } from '../stores/types.js';
import { SharedTargetLimits } from './shared-limits.js';

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
    previous: RouteRuntime | null = null,
    store: LimiterStore | null = null,
  ) {
    this.route = route;
    this.strategy = createStrategy(route.strategy, { random });
    this.budget = new RetryBudget({ ratio: route.retry.budget, minPerSecond: route.retry.budgetMinPerSecond, windowMs: 10_000 }, clock);
    this.targets = route.targets.map((t, i) => {
      const adapter = adapters.get(t.provider);
      if (adapter === undefined) throw new Error(`route ${route.name}: no adapter for provider "${t.provider}"`);
      const kept = previous === null ? null : carried(previous, route, i, adapter, health.get(t.provider) ?? null);
      if (kept !== null) return kept;
      const label = `${t.provider}/${t.model ?? '*'}`;
      return new TargetState(
        i,
        t,
        adapter,
        { breaker: route.breaker, queue: route.queue, batching: route.batching },
        clock,
        health.get(t.provider) ?? null,
        (e) => onBreakerTransition({ ...e, route: route.name, target: label }),
        store === null ? null : SharedTargetLimits.of(route.name, label, t, store),
      );
    });
  }
}


/**
 * The previous version's state of target `index`, when nothing it was built from changed: the
 * route's breaker and queue policies, the target's settings, its adapter and health checker
 * (the same objects only when their provider's settings are unchanged). Shared, not copied:
 * requests still in flight on the old version settle on the same breaker and capacity.
 */
function carried(previous: RouteRuntime, route: CompiledRoute, index: number, adapter: ProviderAdapter, health: HealthChecker | null): TargetState | null {
  const old = previous.targets[index];
  if (old === undefined || old.adapter !== adapter || old.health !== health) return null;
  const before = previous.route;
  if (!sameValue(before.breaker, route.breaker) || !sameValue(before.queue, route.queue) || !sameValue(before.batching, route.batching) || !sameValue(old.config, route.targets[index])) return null;
  return old;
}
