import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import { EventBus } from '../observability/events.js';
import { registerHttpMetrics } from '../observability/http-metrics.js';
import { Metrics } from '../observability/metrics.js';
import { subscribeAll } from '../observability/subscribers.js';
import type { Tracing } from '../observability/tracing.js';
import { PeriodicCheck } from '../stores/check.js';
import { UpstreamPools } from '../upstream/pools.js';
import { answeringPrice } from '../tokens/prices.js';
import { UsageWriter } from '../accounting/writer.js';
import { clientAddressing, type ClientAddressing } from '../edge/client-address.js';
import { ConnectionGate } from '../edge/connection-limits.js';
import { EdgeCors } from '../edge/cors.js';
import { Edge } from '../edge/edge.js';
import { StreamSlots } from '../surfaces/stream-limits.js';
import { ResponsesStore } from '../db/responses.js';
import { AuditLog } from '../control/audit.js';
import { controlPlane, type Readiness } from '../control/control.js';
import type { FastifyInstance } from 'fastify';
import { storeStatus, type Resources } from './resources.js';
import { buildVersion, type Version, type VersionBase } from './version.js';
import { Reloader, type ReloadStatus } from './reload.js';

export { admits } from './version.js';
import { adminSources } from '../control/admin-sources.js';
import { consoleSignIn } from '../control/oidc.js';
import { registerKeyMetrics } from '../observability/key-metrics.js';
import { registerBatchMetrics, registerPassthroughMetrics } from '../observability/batch-metrics.js';
import { buildBatches, type Batches } from '../batches/build.js';
import { joinCluster } from '../cluster/join.js';

/**
 * The composition root (issues 17 and 20). The runtime has two parts: what lives as long as
 * the process (built here once: resources, event bus and its subscribers, metrics, usage
 * accounting, upstream pools, the edge and its server, the control plane, stored responses),
 * and one config version (gateway/version.ts: adapters, health checks, cache, pipelines,
 * keys, guard, services), which a reload (gateway/reload.ts) builds anew beside the running
 * one and swaps in. The long-lived parts read the version through `current()`.
 */

export interface BuildOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Randomness for balancing, backoff jitter and log sampling; tests pass a seeded one. */
  readonly random: (() => number) | undefined;
  /** Reads and compiles the config again for a reload (SIGHUP, the admin API, the file watch); null when there is no source. */
  readonly load: (() => RuntimeConfig) | null;
}

/** What the process runs on; the config version it serves is `current()`. */
export interface Runtime {
  readonly resources: Resources;
  readonly bus: EventBus;
  readonly tracing: Tracing | null;
  readonly pools: UpstreamPools;
  readonly metrics: Metrics;
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
  readonly reloader: Reloader;
  /** The config version new requests start on. */
  current(): Version;
  /** From now on (until `stop`), the current version's health checks run, and each reloaded version's. */
  start(): void;
  stop(): void;
  /** The Files and Batch APIs and the batch runner (issue 21); null without a database. */
  readonly batches: Batches | null;
}

export function buildRuntime(config: RuntimeConfig, resources: Resources, options: BuildOptions): Runtime {
  const { logger, clock } = options;
  const bus = new EventBus((err) => logger.error({ err }, 'event listener failed'));
  const tracing = config.tracing === null || resources.Tracing === null ? null : new resources.Tracing(config.tracing, bus, clock);
  // Set right below; the long-lived parts read the version through it, per request or scrape.
  let version: Version | null = null;
  const current = (): Version => version!;
  let serving = false;
  const pools = new UpstreamPools();
  const metrics = new Metrics(bus, () => current().pipelines.runtimes(), (ctx) => answeringPrice(current().config.prices, ctx.target, ctx.model));
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
  const addressing = clientAddressing(config.server.trustProxy);
  const streams = new StreamSlots(config.server.limits);
  const connections: ConnectionGate = new ConnectionGate(config.server.limits, metrics.watchEdge(() => ({ connections: connections.open, streams: streams.open })));
  const responses = db === null ? null : new ResponsesStore(db, clock, config.responses.retentionMs, logger);
  const base: VersionBase = {
    resources,
    bus,
    metrics,
    pools,
    addressing,
    streams,
    responses,
    recorded: usage === null ? undefined : usage.handedOff.bind(usage),
    adapters: () => current().adapters,
    logger,
    clock,
    random: options.random,
  };
  version = buildVersion(1, config, base, null);
  registerHttpMetrics(metrics.registry, bus, () => current().services.runtimes);
  registerKeyMetrics(metrics.registry, () => current().adapters.values());
  registerBatchMetrics(metrics.registry, () => current().pipelines.runtimes());
  let cacheWatched = false;
  const watchCache = (v: Version): void => {
    if (cacheWatched || v.cache === null) return;
    cacheWatched = true;
    // Once a version caches, the gauges read whichever version is current (zeros without a cache).
    metrics.watchCache(() => current().cache?.store.stats() ?? { bytes: 0, entries: 0, evictions: 0, errors: 0 });
  };
  watchCache(version);
  const corsOptions = config.server.cors.origins.length > 0 ? config.server.cors : null;
  // The Files and Batch APIs and the runner live as long as the process; batch lines run on the current version.
  const batches = buildBatches(config, db, () => current().guard, () => current().routes.endpoints, clock, logger, {
    // Batch pass-through (issue 21): planned on the version serving when the batch is created.
    route: (model) => current().pipelines.table.match(model),
    adapters: () => current().adapters,
    prices: () => current().config.prices,
    usage: usage !== null,
    events: registerPassthroughMetrics(metrics.registry),
  });
  const edge = new Edge({
    gate: connections,
    routes: version.routes,
    cors: corsOptions === null ? null : new EdgeCors(corsOptions),
    clientAddress: addressing.address,
    bodyLimit: config.server.bodyLimit,
    logger,
    files: batches?.serve ?? null,
  });
  const startChecks = (v: Version): void => {
    for (const checker of v.health.values()) checker.start();
    v.services.start();
  };
  const install = (next: Version): void => {
    version = next;
    edge.swap(next.routes);
    usage?.reprice(next.config.prices);
    watchCache(next);
    if (serving) startChecks(next);
  };
  const reloader = new Reloader({ current, install, base, pools }, { load: options.load, logger, clock, metrics });
  const cluster = resources.cluster;
  if (cluster !== null) joinCluster(cluster, metrics, () => reloader.reload(), logger);
  const app = controlPlane({
    logger,
    bodyLimit: config.server.bodyLimit,
    trust: addressing.trust,
    cors: corsOptions,
    serverFactory: (handler, opts) => edge.serverFactory(handler, opts),
    readiness: () => readiness(current().config, resources, dbCheck, usage, reloader.status()),
    metrics,
    admin:
      (config.adminTokens.length === 0 && config.adminOidc === null) || resources.db === null
        ? null
        : {
            tokens: config.adminTokens,
            audit: new AuditLog(resources.db, () => clock.now()),
            // The version's parts, read per request: a reload's keys, sessions, cache and tiers apply at once.
            get sessions() {
              return current().sessions;
            },
            get keys() {
              return current().keys;
            },
            usage: usage === null ? null : resources.reader,
            get cache() {
              return current().cache?.store ?? null;
            },
            get tiers() {
              return new Set(Object.keys(current().config.tiers));
            },
            // In a cluster, a reload asked of this worker runs on the others too (the primary forwards it).
            reload: async () => {
              const outcome = await reloader.reload();
              if (outcome.ok) cluster?.note('reload', 'admin API');
              return outcome;
            },
            sources: adminSources({ config: () => current().config, reload: () => reloader.status(), bus, clock, pipelines: () => current().pipelines, services: () => current().services }),
            signIn: consoleSignIn(config.adminOidc, clock, logger),
          },
  });
  return {
    resources,
    bus,
    tracing,
    pools,
    metrics,
    usage,
    dbCheck,
    addressing,
    connections,
    streams,
    edge,
    app,
    responses,
    batches,
    reloader,
    current,
    start: () => {
      serving = true;
      startChecks(current());
    },
    stop: () => {
      serving = false;
      const v = current();
      for (const checker of v.health.values()) checker.stop();
      v.services.stop();
    },
  };
}

/** GET /ready. */
function readiness(config: RuntimeConfig, resources: Resources, dbCheck: PeriodicCheck | null, usage: UsageWriter | null, reload: ReloadStatus): Readiness {
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
      state: { backend: config.state.redis === null ? 'memory' : 'redis', mode: config.state.redis?.mode ?? null, healthy: state.healthy, error: state.lastError },
      // Informational, like usage: keys are cached and records wait in the spool while the database is away.
      database: resources.db === null || db === null ? null : { kind: resources.db.kind, healthy: db.healthy, error: db.lastError },
      // Informational: records wait in the spool while the database is away, so serving goes on.
      usage: usage?.status() ?? null,
      // Informational: a refused reload leaves the previous config serving (issue 20).
      reload,
    },
  };
}
