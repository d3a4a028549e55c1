import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompiledRoute, RuntimeConfig } from '../config/compile.js';
import type { CompiledService } from '../config/services.js';
import type { Clock } from '../lib/clock.js';
import { sameValue } from '../lib/same.js';
import type { EventBus } from '../observability/events.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestContext } from '../exchange/context.js';
import { Pipelines } from '../exchange/pipelines.js';
import type { Stage } from '../exchange/compose.js';
import { AdmitStage, dearestPrice } from '../policies/admit/admit.js';
import { MemoryResponseStore } from '../policies/cache/memory.js';
import { RedisResponseStore, RemoteFlights } from '../policies/cache/redis.js';
import type { PrimaryChannel } from '../cluster/channel.js';
import { WorkerFlights, WorkerResponseStore } from '../cluster/cache.js';
import { vectorOf, type Embedder } from '../policies/cache/semantic.js';
import { CacheStage, type CacheRuntime } from '../policies/cache/stage.js';
import { Guard } from '../policies/guard.js';
import { Identifier } from '../policies/identify/identifier.js';
import { JwtVerifier } from '../policies/identify/jwt.js';
import { KeyRegistry } from '../policies/identify/keys.js';
import { SessionRevocations } from '../policies/identify/sessions.js';
import { createAdapter } from '../providers/catalog.js';
import { carryAdapterKeys, keyPoolServices } from './key-pools.js';
import type { ProviderAdapter } from '../providers/types.js';
import { HealthChecker } from '../routing/health.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { HttpCacheStage } from '../http/cache.js';
import type { HttpContext } from '../http/context.js';
import { HttpServices } from '../http/services.js';
import type { ClientAddressing } from '../edge/client-address.js';
import type { EdgeRoutes } from '../edge/edge.js';
import { modelEndpoints, modelList, type SurfaceDeps } from '../surfaces/endpoints.js';
import type { StreamSlots } from '../surfaces/stream-limits.js';
import type { ResponsesStore } from '../db/responses.js';
import { storedResponses } from '../surfaces/responses/stored.js';
import type { Resources } from './resources.js';

/**
 * One config version (issue 20): everything built from a compiled config that a reload
 * replaces. Requests take the version once, at the edge, and finish on it; a reload builds the
 * next version beside it (gateway/reload.ts) and swaps it in. What survives a reload lives in
 * the long-lived runtime (gateway/build.ts) or is carried from the previous version here.
 */
export interface Version {
  /** 1 for the config the process started with, +1 per successful reload. */
  readonly id: number;
  /** When it was built (epoch ms). */
  readonly loadedAt: number;
  readonly config: RuntimeConfig;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  /** Active health checks of the providers that have one. */
  readonly health: ReadonlyMap<string, HealthChecker>;
  readonly cache: CacheRuntime | null;
  readonly pipelines: Pipelines;
  readonly keys: KeyRegistry;
  readonly guard: Guard;
  readonly sessions: SessionRevocations | null;
  readonly services: HttpServices;
  /** What the edge dispatches to while this version is current. */
  readonly routes: EdgeRoutes;
}

/** What every version is built on: the long-lived parts (gateway/build.ts). */
export interface VersionBase {
  readonly resources: Resources;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly pools: UpstreamPools;
  readonly addressing: ClientAddressing;
  readonly streams: StreamSlots;
  readonly responses: ResponsesStore | null;
  /** Resolves once a request's usage record is handed to the OS; absent without accounting. */
  readonly recorded: (() => Promise<void>) | undefined;
  /** The current version's adapters, for the semantic cache's embedder (a carried cache outlives the version that built it). */
  readonly adapters: () => ReadonlyMap<string, ProviderAdapter>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: (() => number) | undefined;
}

/** Builds version `id` from `config`, carrying what is unchanged from `previous` (null at start). */
export function buildVersion(id: number, config: RuntimeConfig, base: VersionBase, previous: Version | null): Version {
  const { logger, clock, bus } = base;
  const { adapters, health } = buildProviders(config, base, previous);
  const cache = carriedCache(config, previous) ?? buildResponseCache(config, clock, base.adapters, base.resources.cluster);
  const limits = buildLimits(config, base.resources, clock, bus);
  const pipelines = new Pipelines(config, {
    adapters,
    health,
    clock,
    events: bus,
    admit: limits.admitRoute,
    cache: (route) => (route.cache === null || cache === null ? null : new CacheStage(route, route.cache, cache)),
    previous: previous?.pipelines ?? null,
    store: base.resources.store,
    ...(base.random === undefined ? {} : { random: base.random }),
  });
  const { keys, guard, sessions } = buildIdentity(config, base.resources, clock, bus);
  const services = new HttpServices({
    services: config.services,
    pools: base.pools,
    clock,
    random: base.random ?? Math.random,
    guard,
    admit: limits.admitService,
    cache: (svc) => (svc.cache === null || cache === null ? null : new HttpCacheStage(svc, svc.cache, cache)),
    bus,
    trusted: base.addressing.peerTrusted,
    clientAddress: base.addressing.address,
    now: () => clock.monotonic(),
    logger,
  });
  const surface: SurfaceDeps = {
    pipelines: () => pipelines,
    routing: config.routing,
    guard,
    bus,
    metrics: base.metrics,
    now: () => clock.monotonic(),
    logger,
    streams: base.streams,
    writing: { writeTimeoutMs: config.server.streamWriteTimeoutMs, clock },
    ...(base.recorded === undefined ? {} : { recorded: base.recorded }),
    responses: base.responses,
  };
  const routes: EdgeRoutes = {
    endpoints: modelEndpoints(surface),
    models: modelList(surface),
    services: config.services.length === 0 ? null : services,
    storedResponses: storedResponses({ guard, store: base.responses, logger }),
  };
  return { id, loadedAt: clock.now(), config, adapters, health, cache, pipelines, keys, guard, sessions, services, routes };
}

/**
 * One adapter per provider, and the active health checks of those that have one. A provider
 * whose compiled settings (credentials included) are the same as in `previous` keeps its
 * adapter and its health checker, so its targets' breakers and latency carry over too.
 */
function buildProviders(config: RuntimeConfig, base: VersionBase, previous: Version | null): { adapters: Map<string, ProviderAdapter>; health: Map<string, HealthChecker> } {
  const adapters = new Map<string, ProviderAdapter>();
  const health = new Map<string, HealthChecker>();
  const fresh = new Map<string, ProviderAdapter>();
  for (const [name, provider] of Object.entries(config.providers)) {
    const before = previous?.config.providers[name];
    const kept = before !== undefined && sameValue(before, provider) ? previous!.adapters.get(name) : undefined;
    if (kept !== undefined) {
      adapters.set(name, kept);
      const checker = previous!.health.get(name);
      if (checker !== undefined) health.set(name, checker);
      continue;
    }
    const adapter = createAdapter(provider, base.pools, keyPoolServices(base.clock, base.logger));
    fresh.set(name, adapter);
    adapters.set(name, adapter);
    if (provider.healthCheck === null || adapter.probe === undefined) continue;
    const probe = adapter.probe.bind(adapter);
    health.set(name, new HealthChecker(name, provider.healthCheck, probe, base.clock, (t) => base.bus.emit('health:transition', t)));
  }
  // A provider whose settings changed (a key added or rotated) keeps the rest state of the keys it still has.
  if (previous !== null) carryAdapterKeys(previous.adapters, fresh);
  return { adapters, health };
}

/** Whether anything could ever be limited; when not, the admit stage is left out of every chain. */
export function admits(config: RuntimeConfig): boolean {
  return (
    config.adminTokens.length > 0 ||
    config.adminOidc !== null ||
    Object.values(config.tiers).some((t) => t.limits !== null || t.budget !== null || t.totalBudget !== null || t.priority !== 0 || t.priorityHeader) ||
    config.keys.some((k) => k.limits !== null || k.budget !== null || k.models !== null) ||
    config.routes.some((r) => r.limits !== null) ||
    config.services.some((s) => s.limits !== null)
  );
}

interface Limits {
  /** Builds a route's admit stage; null when nothing is ever limited. */
  readonly admitRoute: ((route: CompiledRoute) => Stage) | null;
  /** Builds a service's admit stage; null when nothing is ever limited. */
  readonly admitService: ((service: CompiledService) => Stage<HttpContext>) | null;
}

/** The admit stages of routes and services, each given its scope explicitly; `admits` decided once. */
function buildLimits(config: RuntimeConfig, resources: Resources, clock: Clock, bus: EventBus): Limits {
  if (!admits(config)) return { admitRoute: null, admitService: null };
  const { tiers, prices } = config;
  const store = resources.store;
  return {
    admitRoute: (route) => new AdmitStage<RequestContext>({ name: route.name, limits: route.limits, priorityHeader: route.queue.priorityHeader, reservePrice: dearestPrice(route.targets) }, tiers, store, clock, bus, prices),
    // A service has no priced targets and does not honour x-sluice-priority itself (its tier may).
    admitService: (svc) => new AdmitStage<HttpContext>({ name: svc.name, limits: svc.limits, priorityHeader: false, reservePrice: null }, tiers, store, clock, bus, prices),
  };
}

/** API keys (config and database), JWT, and the guard (IP limits, then identification). */
function buildIdentity(config: RuntimeConfig, resources: Resources, clock: Clock, bus: EventBus): { keys: KeyRegistry; guard: Guard; sessions: SessionRevocations | null } {
  const keys = new KeyRegistry(config.keys, resources.db, clock, config.auth.keyCacheTtlMs);
  const sessions = config.auth.jwt?.revocation === true ? new SessionRevocations(resources.store, clock, config.auth.jwt.revocationTtlMs) : null;
  const jwt = config.auth.jwt === null ? null : new JwtVerifier(config.auth.jwt, sessions);
  const identifier = new Identifier(config.auth.required, keys, jwt, new Set(Object.keys(config.tiers)));
  const guard = new Guard(config.ipLimits, resources.store, identifier, (policy) => bus.emit('limit:rejected', { route: '', policy }));
  return { keys, guard, sessions };
}

function cachesAnything(config: RuntimeConfig): boolean {
  return config.routes.some((r) => r.cache !== null) || config.services.some((s) => s.cache !== null);
}

/** The previous version's cache when `cache.*` is unchanged: its answers and coalescing survive the reload. */
function carriedCache(config: RuntimeConfig, previous: Version | null): CacheRuntime | null {
  if (previous === null || previous.cache === null || !cachesAnything(config)) return null;
  return sameValue(previous.config.cache, config.cache) ? previous.cache : null;
}

/** The response cache every caching route shares: in this process, or in Redis with coalescing across instances. */
function buildResponseCache(config: RuntimeConfig, clock: Clock, adapters: () => ReadonlyMap<string, ProviderAdapter>, cluster: PrimaryChannel | null): CacheRuntime | null {
  if (!cachesAnything(config)) return null;
  const c = config.cache;
  const common = { inflight: new Map(), clock, maxEntryBytes: c.maxEntryBytes, waitMs: c.waitMs, semanticIndexes: new Map(), embedder: (provider: string, model: string) => embedderFor(adapters, provider, model) };
  if (c.backend === 'redis' && config.state.redis !== null) {
    const store = new RedisResponseStore({ connection: config.state.redis, prefix: config.state.prefix, timeoutMs: c.timeoutMs, leaseMs: c.leaseMs });
    return { ...common, store, remote: new RemoteFlights(store, c.leaseMs) };
  }
  // A cluster worker's memory cache is the primary's one LRU, with coalescing across the workers.
  if (cluster !== null) return { ...common, store: new WorkerResponseStore(cluster), remote: new WorkerFlights(cluster) };
  return { ...common, store: new MemoryResponseStore(c.maxBytes, clock), remote: null };
}

/** Embeds prompts for the semantic cache through a provider's embeddings endpoint; failures skip the lookup. */
function embedderFor(adapters: () => ReadonlyMap<string, ProviderAdapter>, provider: string, model: string): Embedder {
  return async (text, signal) => {
    const adapter = adapters().get(provider);
    if (adapter === undefined) return null;
    try {
      const res = await adapter.send({ endpoint: 'embeddings', body: { model, input: text }, bodyText: null, stream: false, includeUsage: false, signal, requestId: randomUUID(), timeouts: null });
      return res.kind === 'json' && res.status === 200 ? vectorOf(res.body) : null;
    } catch {
      return null;
    }
  };
}
