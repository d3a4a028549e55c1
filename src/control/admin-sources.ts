import type { RuntimeConfig } from '../config/compile.js';
import type { Pipelines } from '../exchange/pipelines.js';
import type { HttpServices, ServiceRuntime } from '../http/services.js';
import type { Clock } from '../lib/clock.js';
import type { EventBus } from '../observability/events.js';
import { TrafficRing } from '../observability/traffic.js';
import type { RouteRuntime } from '../routing/route-runtime.js';

/**
 * What the console's read endpoints (issue 20) read of the running gateway: the config, the
 * live traffic ring, and the routes' and services' runtime state. Getters, not values, so a
 * reloaded config version can be swapped in behind them.
 */
export interface AdminSources {
  readonly config: () => RuntimeConfig;
  /** When the running config version was built, ISO time. */
  readonly loadedAt: () => string;
  readonly traffic: TrafficRing;
  readonly routes: () => Iterable<RouteRuntime>;
  readonly services: () => readonly ServiceRuntime[];
  readonly clock: Clock;
}

export interface AdminSourceParts {
  readonly config: RuntimeConfig;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly pipelines: Pipelines;
  readonly services: HttpServices;
}

/** Builds the sources for one runtime; the traffic ring starts listening to its bus. */
export function adminSources(parts: AdminSourceParts): AdminSources {
  const { config, pipelines, services } = parts;
  const loadedAt = new Date(parts.clock.now()).toISOString();
  return {
    config: () => config,
    loadedAt: () => loadedAt,
    traffic: new TrafficRing(parts.clock).listen(parts.bus),
    routes: () => pipelines.runtimes(),
    services: () => services.runtimes,
    clock: parts.clock,
  };
}
