import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import { SluiceError } from '../errors.js';
import { EventBus } from '../observability/events.js';
import { subscribeAll } from '../observability/subscribers.js';
import { Metrics } from '../observability/metrics.js';
import { lazyChildLogger } from '../observability/lazy-logger.js';
import type { Tracing } from '../observability/tracing.js';
import { Pipelines } from '../exchange/pipelines.js';
import { createAdapters } from '../providers/catalog.js';
import type { ProviderAdapter } from '../providers/types.js';
import { UpstreamPools } from '../upstream/pools.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { HealthChecker } from '../routing/health.js';
import cors from '@fastify/cors';
import { legacyPgliteNotice, openDatabase, type Database } from '../db/index.js';
import { AdmitStage } from '../policies/admit/admit.js';
import type { HttpContext } from '../http/context.js';
import { Guard } from '../policies/guard.js';
import { MemoryResponseStore } from '../policies/cache/memory.js';
import { RedisResponseStore, RemoteFlights } from '../policies/cache/redis.js';
import { CacheStage, type CacheRuntime } from '../policies/cache/stage.js';
import { vectorOf, type Embedder } from '../policies/cache/semantic.js';
import { Identifier } from '../policies/identify/identifier.js';
import { JwtVerifier } from '../policies/identify/jwt.js';
import { KeyRegistry } from '../policies/identify/keys.js';
import { GuardedStore, createStateStore, type StateStore } from '../stores/index.js';
import { PeriodicCheck } from '../stores/check.js';
import { HttpServices } from '../http/services.js';
import { HttpCacheStage } from '../http/cache.js';
import { refuseUpgrade } from '../http/websocket.js';
import { trustFunction } from '../http/headers.js';
import { registerHttpMetrics } from '../observability/http-metrics.js';
import { registerAdminApi } from './admin.js';
import { ReadRouter } from '../db/replicas.js';
import { UsageWriter } from '../accounting/writer.js';
import { answeringPrice } from '../tokens/prices.js';
import { fromFastifyError } from './fastify-errors.js';
import { registerOpenAISurface } from './openai.js';
import { FastPath, clientIpFunction, serverFactory, trustProxyFunction } from './fast-path.js';
import { logInternal, sendError } from './respond.js';
import { ConnectionGate } from './connection-limits.js';
import { StreamSlots } from './stream-limits.js';

export interface GatewayOptions {
  logger: Logger;
  clock?: Clock;
  /** Randomness for balancing and backoff jitter; tests pass a seeded one. */
  random?: () => number;
}

/** What a gateway needs that is opened asynchronously: the database and the state store. */
interface Resources {
  readonly db: Database | null;
  readonly store: StateStore;
  /** The tracing module, imported only when `tracing.endpoint` is set. */
  readonly Tracing: typeof Tracing | null;
  /** Where analytics reads go: the read replicas, falling back to `db`. */
  readonly reader: ReadRouter | null;
}

/** How long a stopping gateway tries to ship spooled usage records; the rest waits in the spool. */
const USAGE_STOP_MS = 5_000;

/** The admit stage is left out of route chains when nothing could ever be limited. */
function admits(config: RuntimeConfig): boolean {
  return (
    config.adminTokenHashes.length > 0 ||
    Object.values(config.tiers).some((t) => t.limits !== null || t.budget !== null || t.totalBudget !== null || t.priority !== 0 || t.priorityHeader) ||
    config.keys.some((k) => k.limits !== null || k.budget !== null || k.models !== null) ||
    config.routes.some((r) => r.limits !== null) ||
    config.services.some((s) => s.limits !== null)
  );
}

/**
 * One running gateway: the HTTP server, its providers and its compiled pipelines for the
 * current config version.
 */
export class Gateway {
  readonly app: FastifyInstance;
  readonly config: RuntimeConfig;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly #pools = new UpstreamPools();
  readonly #adapters: Map<string, ProviderAdapter>;
  readonly #health = new Map<string, HealthChecker>();
  readonly #pipelines: Pipelines;
  readonly #services: HttpServices;
  readonly #logger: Logger;
  readonly #resources: Resources;
  readonly #cache: CacheRuntime | null;
  /** The database's `SELECT 1`, every `state.checkInterval`, for /ready; null without a database. */
  readonly #dbCheck: PeriodicCheck | null;
  readonly #tracing: Tracing | null;
  readonly keys: KeyRegistry;
  /** Usage accounting, when `usage.enabled`. */
  readonly usage: UsageWriter | null;
  #draining = false;
  #fastPath: FastPath | null = null;
  /** Client connection limits (issue 15). */
  readonly connections: ConnectionGate;
  /** Open streams, in all and per client address (issue 15). */
  readonly streams: StreamSlots;

  /**
   * Opens what the config needs (a database when usage is recorded or keys can be stored:
   * with admin tokens or a `database.url`; the shared state store) and builds the gateway.
   */
  static async create(config: RuntimeConfig, options: GatewayOptions): Promise<Gateway> {
    const clock = options.clock ?? systemClock;
    const wantsDb = config.usage.enabled || config.adminTokenHashes.length > 0 || config.database.url !== null;
    const db = wantsDb ? await openDatabase({ ...config.database }) : null;
    const legacy = db?.kind === 'sqlite' ? legacyPgliteNotice(config.database.dataDir) : null;
    if (legacy !== null) options.logger.warn(legacy);
    const reader = db === null ? null : await ReadRouter.open(db, config.database.replicas, config.database, clock);
    const store = createStateStore({
      clock,
      prefix: config.state.prefix,
      timeoutMs: config.state.timeoutMs,
      failure: config.state.failure,
      checkMs: config.state.checkMs,
      retryMs: config.state.checkMs,
      startupWaitMs: config.state.startupWaitMs,
      ...(config.state.redisUrl === null ? {} : { redis: { url: config.state.redisUrl } }),
    });
    const tracing = config.tracing === null ? null : (await import('../observability/tracing.js')).Tracing;
    return new Gateway(config, options, { db, store, reader, Tracing: tracing });
  }

  private constructor(config: RuntimeConfig, options: GatewayOptions, resources: Resources) {
    this.config = config;
    this.#logger = options.logger;
    this.#resources = resources;
    const clock = options.clock ?? systemClock;
    const now = (): number => clock.monotonic();
    this.bus = new EventBus((err) => this.#logger.error({ err }, 'event listener failed'));
    this.#tracing = config.tracing === null || resources.Tracing === null ? null : new resources.Tracing(config.tracing, this.bus, clock);
    this.#adapters = createAdapters(config.providers, this.#pools);
    for (const [name, provider] of Object.entries(config.providers)) {
      const adapter = this.#adapters.get(name);
      if (provider.healthCheck === null || adapter?.probe === undefined) continue;
      const probe = adapter.probe.bind(adapter);
      this.#health.set(name, new HealthChecker(name, provider.healthCheck, probe, clock, (t) => this.bus.emit('health:transition', t)));
    }
    const cache = (this.#cache = config.routes.some((r) => r.cache !== null) || config.services.some((s) => s.cache !== null) ? createCacheRuntime(config, clock, this.#adapters) : null);
    this.#pipelines = new Pipelines(config, {
      adapters: this.#adapters,
      health: this.#health,
      clock,
      events: this.bus,
      admit: admits(config) ? (route) => new AdmitStage(route, config.tiers, resources.store, clock, this.bus, config.prices) : null,
      cache: (route) => (route.cache === null || cache === null ? null : new CacheStage(route, route.cache, cache)),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.metrics = new Metrics(this.bus, () => this.#pipelines.runtimes(), (ctx) => answeringPrice(config.prices, ctx.target, ctx.model));
    if (cache !== null) this.metrics.watchCache(() => cache.store.stats());
    this.keys = new KeyRegistry(config.keys, resources.db, clock, config.auth.keyCacheTtlMs);
    const jwt = config.auth.jwt === null ? null : new JwtVerifier(config.auth.jwt);
    const identifier = new Identifier(config.auth.required, this.keys, jwt, new Set(Object.keys(config.tiers)));
    const guard = new Guard(config.ipLimits, resources.store, identifier, (policy) => this.bus.emit('limit:rejected', { route: '', policy }));
    this.#services = new HttpServices({
      services: config.services,
      pools: this.#pools,
      clock,
      random: options.random ?? Math.random,
      guard,
      admit: admits(config) ? (svc) => new AdmitStage<HttpContext>({ name: svc.name, limits: svc.limits, queue: { priorityHeader: false }, targets: [] }, config.tiers, resources.store, clock, this.bus, config.prices) : null,
      cache: (svc) => (svc.cache === null || cache === null ? null : new HttpCacheStage(svc, svc.cache, cache)),
      bus: this.bus,
      trusted: trustFunction(config.server.trustProxy),
      now,
      logger: options.logger,
    });
    registerHttpMetrics(this.metrics.registry, this.bus, () => this.#services.runtimes);
    this.usage = config.usage.enabled && resources.db !== null ? new UsageWriter(config.usage, resources.db, config.prices, clock, this.#logger) : null;
    // The request log, settlement and usage records subscribe to finished requests' summaries.
    subscribeAll(this.bus, { logger: this.#logger, sampling: { sampleRate: config.logging.sampleRate, random: options.random ?? Math.random }, usage: this.usage });
    const db = resources.db;
    this.#dbCheck = db === null ? null : new PeriodicCheck(() => db.query('SELECT 1'), clock, config.state.checkMs);
    const status = storeStatus(resources.store);
    if (status !== null) {
      status.onChange((st) => this.#logger.warn({ healthy: st.healthy, error: st.lastError }, 'shared state store'));
      this.metrics.watchStateStore(() => status.status().healthy);
    }

    const trust = trustProxyFunction(config.server.trustProxy);
    this.streams = new StreamSlots(config.server.limits);
    const gate: ConnectionGate = (this.connections = new ConnectionGate(config.server.limits, this.metrics.watchEdge(() => ({ connections: this.connections.open, streams: this.streams.open }))));
    const app = Fastify({
      // The fast path is set once the model endpoints are registered; until then (and with CORS on) fastify serves everything.
      // A connection over the limits is answered its refusal before either sees it.
      serverFactory: serverFactory((req, res) => gate.refuse(req, res) || (this.#fastPath !== null && this.#fastPath.take(req, res))),
      loggerInstance: options.logger as FastifyBaseLogger,
      bodyLimit: config.server.bodyLimit,
      requestIdHeader: 'x-request-id',
      genReqId: () => randomUUID(),
      childLoggerFactory: lazyChildLogger,
      // One line per request comes from the request log subscriber instead.
      logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: true }),
      return503OnClosing: false,
      forceCloseConnections: 'idle',
      trustProxy: trust,
      // Paths fastify's router refuses before any hook (`/x%zz`; a path parameter over 100
      // characters, which fastify alone answers 414) get catalog codes like everything else.
      frameworkErrors: (error, request, reply) => {
        const e =
          error.code === 'FST_ERR_BAD_URL'
            ? new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'The request path has a malformed percent-escape.' })
            : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
              ? new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'A path segment is longer than 100 characters.' })
              : fromFastifyError(error, config.server.bodyLimit);
        logInternal(options.logger, e, request.id);
        sendError(reply, e);
      },
    });
    this.app = app;
    gate.attach(app.server);
    if (config.server.cors.origins.length > 0) {
      void app.register(cors, {
        origin: [...config.server.cors.origins],
        credentials: config.server.cors.credentials,
        maxAge: Math.round(config.server.cors.maxAgeMs / 1000),
        exposedHeaders: ['x-request-id', 'x-sluice-cache', 'ratelimit', 'ratelimit-policy', 'retry-after'],
      });
    }

    // Clients that post JSON without a JSON content type (curl -d) are served all the same.
    app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'));

    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      if (this.#draining) {
        reply.header('connection', 'close');
        sendError(reply, new SluiceError('SLUICE_ERR_SHUTTING_DOWN'));
        return;
      }
      // An HTTP service that matches takes the request here, before body parsing: its body streams through.
      if (this.#services.take(request, reply)) return;
      done();
    });
    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const id = headerId(req) ?? randomUUID();
      const refusal = gate.refusalFor(req.socket);
      if (refusal !== null) {
        refuseUpgrade(socket, refusal, id);
        return;
      }
      if (this.#draining) {
        refuseUpgrade(socket, new SluiceError('SLUICE_ERR_SHUTTING_DOWN'), id);
        return;
      }
      this.#services.upgrade(req, socket, head, req.socket.remoteAddress ?? '', id);
    });

    app.setErrorHandler((err: FastifyError, request, reply) => {
      const e = err instanceof SluiceError ? err : fromFastifyError(err, config.server.bodyLimit);
      if (e.code === 'SLUICE_ERR_INTERNAL') request.log.error({ err }, 'unhandled error');
      sendError(reply, e);
    });
    app.setNotFoundHandler((request, reply) => {
      sendError(reply, new SluiceError('SLUICE_ERR_NOT_FOUND', { message: `No such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}.` }));
    });

    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      if (this.#draining) {
        sendError(reply, new SluiceError('SLUICE_ERR_SHUTTING_DOWN'));
        return reply;
      }
      const state = storeStatus(resources.store)?.status() ?? { healthy: true, lastError: null };
      // Not ready while the shared store does not answer (also before its first answer), under
      // either policy: a load balancer should send traffic to instances whose limits are shared.
      // Requests that still arrive are served on local limits (open) or refused (closed).
      const ready = state.healthy;
      const db = this.#dbCheck?.status() ?? null;
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? 'ready' : config.state.failure === 'open' ? 'degraded' : 'unavailable',
        config: config.source,
        routes: config.routes.length,
        providers: Object.keys(config.providers).length,
        state: { backend: config.state.redisUrl === null ? 'memory' : 'redis', healthy: state.healthy, error: state.lastError },
        // Informational, like usage: keys are cached and records wait in the spool while the database is away.
        database: resources.db === null || db === null ? null : { kind: resources.db.kind, healthy: db.healthy, error: db.lastError },
        // Informational: records wait in the spool while the database is away, so serving goes on.
        usage: this.usage?.status() ?? null,
      };
    });
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', this.metrics.registry.contentType);
      return this.metrics.registry.metrics();
    });

    const endpoints = registerOpenAISurface(app, { pipelines: () => this.#pipelines, routing: config.routing, guard, bodyLimit: config.server.bodyLimit, bus: this.bus, metrics: this.metrics, now, logger: options.logger, streams: this.streams, writing: { writeTimeoutMs: config.server.streamWriteTimeoutMs, clock }, ...(this.usage === null ? {} : { recorded: this.usage.handedOff.bind(this.usage) }) });
    if (config.server.cors.origins.length === 0) {
      this.#fastPath = new FastPath({
        endpoints,
        bodyLimit: config.server.bodyLimit,
        draining: () => this.#draining,
        claimed: (req) => this.#services.claims(req),
        clientIp: clientIpFunction(trust),
        logger: options.logger,
      });
    }
    if (config.adminTokenHashes.length > 0) registerAdminApi(app, { tokenHashes: config.adminTokenHashes, keys: this.keys, usage: this.usage === null ? null : resources.reader, cache: cache === null ? null : cache.store, tiers: new Set(Object.keys(config.tiers)) });
  }

  /** The fast path for model requests; null when fastify serves them all (CORS on). */
  get fastPath(): FastPath | null {
    return this.#fastPath;
  }

  /** The HTTP services and their instances' state. */
  get services(): HttpServices {
    return this.#services;
  }

  /** The database, when the config uses one (keys, later usage records). */
  get database(): Database | null {
    return this.#resources.db;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Starts listening (and active health checks); resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port, backlog: this.config.server.backlog });
    for (const checker of this.#health.values()) checker.start();
    this.#dbCheck?.start();
    this.#services.start();
    this.usage?.start();
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('server is not bound to a TCP port');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { host: addr.address, port: addr.port, url: `http://${host}:${addr.port}` };
  }

  /**
   * Graceful stop: refuse new requests (503, and /ready fails so load balancers move away),
   * let requests and streams in flight finish for up to `drainTimeoutMs`, then close every
   * connection that is left. Resolves true when everything drained in time.
   */
  async shutdown(drainTimeoutMs: number = this.config.server.drainTimeoutMs): Promise<boolean> {
    this.#draining = true;
    for (const checker of this.#health.values()) checker.stop();
    this.#dbCheck?.stop();
    this.#services.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), drainTimeoutMs);
    });
    const closed = this.app.close().then(() => true);
    // server.close() only closes the connections idle at that moment; a keep-alive
    // connection whose last request finishes while draining would hold the close open
    // until the timeout, so idle connections are swept as they appear.
    const sweep = setInterval(() => this.app.server.closeIdleConnections(), 50);
    const drained = await Promise.race([closed, timedOut]);
    clearInterval(sweep);
    clearTimeout(timer);
    if (!drained) {
      this.#logger.warn({ drainTimeoutMs }, 'drain timeout reached; closing remaining connections');
      this.app.server.closeAllConnections();
      await closed;
    }
    await this.#tracing?.shutdown().catch((err: unknown) => this.#logger.warn({ err }, 'exporting the last traces failed'));
    await Promise.all([...this.#adapters.values()].map((a) => a.close()));
    await this.#pools.close();
    // Every request has ended, so every record is spooled; ship what the database will take in time.
    await this.usage?.stop(USAGE_STOP_MS);
    await this.#resources.reader?.close();
    await this.#resources.store.close().catch(() => {});
    await this.#cache?.store.close().catch(() => {});
    await this.#resources.db?.close().catch(() => {});
    return drained;
  }
}

/** The response cache every caching route shares: in this process, or in Redis with coalescing across instances. */
function createCacheRuntime(config: RuntimeConfig, clock: Clock, adapters: ReadonlyMap<string, ProviderAdapter>): CacheRuntime {
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

/** The store's health, when it has one (Redis behind a GuardedStore); memory has none. */
function storeStatus(store: StateStore): GuardedStore | null {
  return store instanceof GuardedStore ? store : null;
}

/** A client's x-request-id, as fastify's genReqId takes it for ordinary requests. */
function headerId(req: IncomingMessage): string | null {
  const v = req.headers['x-request-id'];
  return typeof v === 'string' && v !== '' && v.length <= 200 ? v : null;
}
