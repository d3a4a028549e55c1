import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompiledRoute, RuntimeConfig } from '../config/compile.js';
import type { CompiledService } from '../config/services.js';
import type { Clock } from '../lib/clock.js';
import { EventBus } from '../observability/events.js';
import { registerHttpMetrics } from '../observability/http-metrics.js';
import { Metrics } from '../observability/metrics.js';
import { subscribeAll } from '../observability/subscribers.js';
import type { Tracing } from '../observability/tracing.js';
import type { RequestContext } from '../exchange/context.js';
import { Pipelines } from '../exchange/pipelines.js';
import type { Stage } from '../exchange/compose.js';
import { AdmitStage, dearestPrice } from '../policies/admit/admit.js';
import { MemoryResponseStore } from '../policies/cache/memory.js';
import { RedisResponseStore, RemoteFlights } from '../policies/cache/redis.js';
import { vectorOf, type Embedder } from '../policies/cache/semantic.js';
import { CacheStage, type CacheRuntime } from '../policies/cache/stage.js';
import { Guard } from '../policies/guard.js';
import { Identifier } from '../policies/identify/identifier.js';
import { JwtVerifier } from '../policies/identify/jwt.js';
import { KeyRegistry } from '../policies/identify/keys.js';
import { SessionRevocations } from '../policies/identify/sessions.js';
import { createAdapters } from '../providers/catalog.js';
import type { ProviderAdapter } from '../providers/types.js';
import { HealthChecker } from '../routing/health.js';
import { PeriodicCheck } from '../stores/check.js';
import { UpstreamPools } from '../upstream/pools.js';
import { answeringPrice } from '../tokens/prices.js';
import { UsageWriter } from '../accounting/writer.js';
import { HttpCacheStage } from '../http/cache.js';
import type { HttpContext } from '../http/context.js';
import { HttpServices } from '../http/services.js';
import { clientAddressing, type ClientAddressing } from '../edge/client-address.js';
import { ConnectionGate } from '../edge/connection-limits.js';
import { EdgeCors } from '../edge/cors.js';
import { Edge } from '../edge/edge.js';
import { modelEndpoints, modelList } from '../surfaces/endpoints.js';
import { StreamSlots } from '../surfaces/stream-limits.js';
import { ResponsesStore } from '../db/responses.js';
import { storedResponses } from '../surfaces/responses/stored.js';
import { AuditLog } from '../control/audit.js';
import { controlPlane, type Readiness } from '../control/control.js';
import type { FastifyInstance } from 'fastify';
import { storeStatus, type Resources } from './resources.js';
import { buildBatches, type Batches } from '../batches/build.js';

/**
 * The composition root's builders (issue 17): each builds one part of the runtime from the
 * compiled config and the parts built before it. `buildRuntime` calls them in order; the
 * result is one object, so a reloaded config can later be built beside it and swapped in.
 */

export interface BuildOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Randomness for balancing, backoff jitter and log sampling; tests pass a seeded one. */
  readonly random: (() => number) | undefined;
}

/** Everything one config version runs on. */
export interface Runtime {
  readonly config: RuntimeConfig;
  readonly resources: Resources;
  readonly bus: EventBus;
  readonly tracing: Tracing | null;
  readonly pools: UpstreamPools;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly health: ReadonlyMap<string, HealthChecker>;
  readonly cache: CacheRuntime | null;
  readonly pipelines: Pipelines;
  readonly metrics: Metrics;
  readonly keys: KeyRegistry;
  readonly guard: Guard;
  readonly services: HttpServices;
  readonly usage: UsageWriter | null;
  /** The database's `SELECT 1`, every `state.checkInterval`, for /ready; null without a database. */
  readonly dbCheck: PeriodicCheck | null;
  readonly addressing: ClientAddressing;
  readonly connections: ConnectionGate;
  readonly streams: StreamSlots;
  readonly edge: Edge;
  readonly app: FastifyInstance;
  /** Stored responses of /v1/responses (issue 18); null without a database. */
  readonly responses: ResponsesStore | null;
  /** The Files and Batch APIs and the batch runner (issue 21); null without a database. */
  readonly batches: Batches | null;
}

export function buildRuntime(config: RuntimeConfig, resources: Resources, options: BuildOptions): Runtime {
  const { logger, clock } = options;
  const { bus, tracing } = buildObservability(config, resources, options);
  const { pools, adapters, health } = buildProviders(config, clock, bus);
  const cache = buildResponseCache(config, clock, adapters);
  const limits = buildLimits(config, resources, clock, bus);
  const pipelines = new Pipelines(config, {
    adapters,
    health,
    clock,
    events: bus,
    admit: limits.admitRoute,
    cache: (route) => (route.cache === null || cache === null ? null : new CacheStage(route, route.cache, cache)),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  const metrics = new Metrics(bus, () => pipelines.runtimes(), (ctx) => answeringPrice(config.prices, ctx.target, ctx.model));
  if (cache !== null) metrics.watchCache(() => cache.store.stats());
  const { keys, guard, sessions } = buildIdentity(config, resources, clock, bus);
  const addressing = clientAddressing(config.server.trustProxy);
  const services = new HttpServices({
    services: config.services,
    pools,
    clock,
    random: options.random ?? Math.random,
    guard,
    admit: limits.admitService,
    cache: (svc) => (svc.cache === null || cache === null ? null : new HttpCacheStage(svc, svc.cache, cache)),
    bus,
    trusted: addressing.peerTrusted,
    clientAddress: addressing.address,
    now: () => clock.monotonic(),
    logger,
  });
  registerHttpMetrics(metrics.registry, bus, () => services.runtimes);
  const usage = config.usage.enabled && resources.db !== null ? new UsageWriter(config.usage, resources.db, config.prices, clock, logger) : null;
  // The request log, settlement and usage records subscribe to finished requests' summaries.
  subscribeAll(bus, { logger, sampling: { sampleRate: config.logging.sampleRate, random: options.random ?? Math.random }, usage });
  const db = resources.db;
  const dbCheck = db === null ? null : new PeriodicCheck(() => db.query('SELECT 1'), clock, config.state.checkMs);
  const status = storeStatus(resources.store);
  if (status !== null) {
    status.onChange((st) => logger.warn({ healthy: st.healthy, error: st.lastError }, 'shared state store'));
    metrics.watchStateStore(() => status.status().healthy);
  }
  const streams = new StreamSlots(config.server.limits);
  const connections: ConnectionGate = new ConnectionGate(config.server.limits, metrics.watchEdge(() => ({ connections: connections.open, streams: streams.open })));
  const surface = {
    pipelines: () => pipelines,
    routing: config.routing,
    guard,
    bus,
    metrics,
    now: () => clock.monotonic(),
    logger,
    streams,
    writing: { writeTimeoutMs: config.server.streamWriteTimeoutMs, clock },
    ...(usage === null ? {} : { recorded: usage.handedOff.bind(usage) }),
    responses: db === null ? null : new ResponsesStore(db, clock, config.responses.retentionMs, logger),
  };
  const stored = storedResponses({ guard, store: surface.responses, logger });
  const corsOptions = config.server.cors.origins.length > 0 ? config.server.cors : null;
  const endpoints = modelEndpoints(surface);
  const batches = buildBatches(config, db, guard, endpoints, clock, logger);
  const edge = new Edge({
    gate: connections,
    endpoints,
    models: modelList(surface),
    services: config.services.length === 0 ? null : services,
    cors: corsOptions === null ? null : new EdgeCors(corsOptions),
    clientAddress: addressing.address,
    bodyLimit: config.server.bodyLimit,
    logger,
    storedResponses: stored,
    files: batches?.serve ?? null,
  });
  const app = controlPlane({
    logger,
    bodyLimit: config.server.bodyLimit,
    trust: addressing.trust,
    cors: corsOptions,
    serverFactory: (handler, opts) => edge.serverFactory(handler, opts),
    readiness: () => readiness(config, resources, dbCheck, usage),
    metrics,
    admin: config.adminTokens.length === 0 || resources.db === null ? null : { tokens: config.adminTokens, audit: new AuditLog(resources.db, () => clock.now()), sessions, keys, usage: usage === null ? null : resources.reader, cache: cache === null ? null : cache.store, tiers: new Set(Object.keys(config.tiers)) },
  });
  return { config, resources, bus, tracing, pools, adapters, health, cache, pipelines, metrics, keys, guard, services, usage, dbCheck, addressing, connections, streams, edge, app, responses: surface.responses, batches };
}

/** The event bus and tracing, its first listener. */
function buildObservability(config: RuntimeConfig, resources: Resources, options: BuildOptions): { bus: EventBus; tracing: Tracing | null } {
  const logger = options.logger;
  const bus = new EventBus((err) => logger.error({ err }, 'event listener failed'));
  const tracing = config.tracing === null || resources.Tracing === null ? null : new resources.Tracing(config.tracing, bus, options.clock);
  return { bus, tracing };
}

/** Upstream pools, one adapter per provider, and the active health checks of those that have one. */
function buildProviders(config: RuntimeConfig, clock: Clock, bus: EventBus): { pools: UpstreamPools; adapters: Map<string, ProviderAdapter>; health: Map<string, HealthChecker> } {
  const pools = new UpstreamPools();
  const adapters = createAdapters(config.providers, pools);
  const health = new Map<string, HealthChecker>();
  for (const [name, provider] of Object.entries(config.providers)) {
    const adapter = adapters.get(name);
    if (provider.healthCheck === null || adapter?.probe === undefined) continue;
    const probe = adapter.probe.bind(adapter);
    health.set(name, new HealthChecker(name, provider.healthCheck, probe, clock, (t) => bus.emit('health:transition', t)));
  }
  return { pools, adapters, health };
}

/** Whether anything could ever be limited; when not, the admit stage is left out of every chain. */
export function admits(config: RuntimeConfig): boolean {
  return (
    config.adminTokens.length > 0 ||
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

/** GET /ready. */
function readiness(config: RuntimeConfig, resources: Resources, dbCheck: PeriodicCheck | null, usage: UsageWriter | null): Readiness {
  const state = storeStatus(resources.store)?.status() ?? { healthy: true, lastError: null };
  // Not ready while the shared store does not answer (also before its first answer), under
  // either policy: a load balancer should send traffic to instances whose limits are shared.
  // Requests that still arrive are served on local limits (open) or refused (closed).
  const ready = state.healthy;
  const db = dbCheck?.status() ?? null;
  return {
    status: ready ? 200 : 503,
    body: {
      status: ready ? 'ready' : config.state.failure === 'open' ? 'degraded' : 'unavailable',
      config: config.source,
      routes: config.routes.length,
      providers: Object.keys(config.providers).length,
      state: { backend: config.state.redisUrl === null ? 'memory' : 'redis', healthy: state.healthy, error: state.lastError },
      // Informational, like usage: keys are cached and records wait in the spool while the database is away.
      database: resources.db === null || db === null ? null : { kind: resources.db.kind, healthy: db.healthy, error: db.lastError },
      // Informational: records wait in the spool while the database is away, so serving goes on.
      usage: usage?.status() ?? null,
    },
  };
}

/** The response cache every caching route shares: in this process, or in Redis with coalescing across instances. */
function buildResponseCache(config: RuntimeConfig, clock: Clock, adapters: ReadonlyMap<string, ProviderAdapter>): CacheRuntime | null {
  if (!config.routes.some((r) => r.cache !== null) && !config.services.some((s) => s.cache !== null)) return null;
  const c = config.cache;
  const common = { inflight: new Map(), clock, maxEntryBytes: c.maxEntryBytes, waitMs: c.waitMs, semanticIndexes: new Map(), embedder: (provider: string, model: string) => embedderFor(adapters, provider, model) };
  if (c.backend === 'redis' && config.state.redisUrl !== null) {
    const store = new RedisResponseStore({ url: config.state.redisUrl, prefix: config.state.prefix, timeoutMs: c.timeoutMs, leaseMs: c.leaseMs });
    return { ...common, store, remote: new RemoteFlights(store, c.leaseMs) };
  }
  return { ...common, store: new MemoryResponseStore(c.maxBytes, clock), remote: null };
}

/** Embeds prompts for the semantic cache through a provider's embeddings endpoint; failures skip the lookup. */
function embedderFor(adapters: ReadonlyMap<string, ProviderAdapter>, provider: string, model: string): Embedder {
  return async (text, signal) => {
    const adapter = adapters.get(provider);
    if (adapter === undefined) return null;
    try {
      const res = await adapter.send({ endpoint: 'embeddings', body: { model, input: text }, bodyText: null, stream: false, includeUsage: false, signal, requestId: randomUUID(), timeouts: null });
      return res.kind === 'json' && res.status === 200 ? vectorOf(res.body) : null;
    } catch {
      return null;
    }
  };
}
