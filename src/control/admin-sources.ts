import type { RuntimeConfig } from '../config/compile.js';
import type { Pipelines } from '../exchange/pipelines.js';
import type { HttpServices, ServiceRuntime } from '../http/services.js';
import type { Clock } from '../lib/clock.js';
import type { EventBus } from '../observability/events.js';
import { TrafficRing } from '../observability/traffic.js';
import type { RouteRuntime } from '../routing/route-runtime.js';
import type { ReloadStatus } from '../gateway/reload.js';

/**
 * What the console's read endpoints (issue 20) read of the running gateway: the config, the
 * live traffic ring, and the routes' and services' runtime state. Getters, not values, so a
 * reloaded config version can be swapped in behind them.
 */
export interface AdminSources {
  readonly config: () => RuntimeConfig;
  /** The config version serving and the last reload attempt (issue 20). */
  readonly reload: () => ReloadStatus;
  /** When the running config version was built, ISO time. */
  readonly loadedAt: () => string;
  readonly traffic: TrafficRing;
  readonly routes: () => Iterable<RouteRuntime>;
  readonly services: () => readonly ServiceRuntime[];
  readonly clock: Clock;
}

/** The running gateway's parts, read through getters: each reads the config version serving now. */
export interface AdminSourceParts {
  readonly config: () => RuntimeConfig;
  readonly reload: () => ReloadStatus;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly pipelines: () => Pipelines;
  readonly services: () => HttpServices;
}

/** Builds the sources once per process; the traffic ring listens to the bus, so its history survives reloads. */
export function adminSources(parts: AdminSourceParts): AdminSources {
  const { config, pipelines, services, reload } = parts;
  return {
    config,
    reload,
    loadedAt: () => reload().loadedAt,
    traffic: new TrafficRing(parts.clock).listen(parts.bus),
    routes: () => pipelines().runtimes(),
    services: () => services().runtimes,
    clock: parts.clock,
  };
}
