import type { CompiledRoute, RuntimeConfig } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import type { ProviderAdapter } from '../providers/types.js';
import { DispatchStage } from '../routing/dispatch.js';
import type { HealthChecker } from '../routing/health.js';
import { RouteRuntime, type TargetBreakerEvent } from '../routing/route-runtime.js';
import { RouteTable } from '../routing/table.js';
import { compose, type Next, type Stage } from './compose.js';
import type { LimiterStore } from '../stores/types.js';

export interface PipelineDeps {
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly health: ReadonlyMap<string, HealthChecker>;
  readonly clock: Clock;
  /** Where breaker transitions are published: the gateway's event bus. */
  readonly events: { emit(event: 'breaker:transition', e: TargetBreakerEvent): void };
  /** Builds a route's admit stage; null when nothing is ever limited (the stage is left out). */
  readonly admit: ((route: CompiledRoute) => Stage) | null;
  /** Builds a route's cache stage (only for routes with `cache`). */
  readonly cache: (route: CompiledRoute) => Stage | null;
  readonly random?: () => number;
  /**
   * The version this one replaces (a reload, issue 20): a target whose route policies, own
   * settings and adapter are unchanged keeps its state (breaker, latency, capacity, in-flight).
   */
  readonly previous?: Pipelines | null;
  /** Where targets' provider limits are counted across instances (the state store). */
  readonly store?: LimiterStore | null;
}

/**
 * The compiled form of one config version: the route table, each route's runtime state and
 * its chain of stages. A new config version builds a new Pipelines; requests in flight keep
 * the one they started with.
 */
export class Pipelines {
  readonly table: RouteTable;
  readonly #chains = new Map<CompiledRoute, Next>();
  readonly #runtimes = new Map<CompiledRoute, RouteRuntime>();

  constructor(config: RuntimeConfig, deps: PipelineDeps) {
    this.table = new RouteTable(config.routes);
    const events = deps.events;
    const onBreakerTransition = (e: TargetBreakerEvent): void => events.emit('breaker:transition', e);
    const before = new Map<string, RouteRuntime>();
    for (const rt of deps.previous?.runtimes() ?? []) before.set(rt.route.name, rt);
    for (const route of config.routes) {
      this.#runtimes.set(route, new RouteRuntime(route, deps.adapters, deps.health, deps.clock, onBreakerTransition, deps.random, before.get(route.name) ?? null, deps.store ?? null));
    }
    const fallbackFor = (model: string): RouteRuntime | null => {
      const route = this.table.match(model);
      return route === null ? null : (this.#runtimes.get(route) ?? null);
    };
    // Upstream attempts are kept for the request's summary only when traces are made of them.
    const recordAttempts = config.tracing !== null;
    for (const route of config.routes) {
      // Identification runs before routing (Guard); admit, cache and dispatch follow.
      // Absent stages are not in the chain at all.
      const stages: Stage[] = [];
      if (deps.admit !== null) stages.push(deps.admit(route));
      const cache = deps.cache(route);
      if (cache !== null) stages.push(cache);
      stages.push(new DispatchStage(this.#runtimes.get(route)!, fallbackFor, deps.clock, config.redactor, deps.random, recordAttempts));
      this.#chains.set(route, compose(stages));
    }
  }

  chain(route: CompiledRoute): Next {
    return this.#chains.get(route)!;
  }

  /** A route's runtime state (its targets and their adapters), for requests served outside its chain (count_tokens, issue 18). */
  runtime(route: CompiledRoute): RouteRuntime | null {
    return this.#runtimes.get(route) ?? null;
  }

  /** Every route's runtime state, for metrics. */
  runtimes(): IterableIterator<RouteRuntime> {
    return this.#runtimes.values();
  }
}
