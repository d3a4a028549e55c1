import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import { SluiceError } from '../errors.js';
import { EventBus } from '../observability/events.js';
import { attachRequestLog } from '../observability/request-log.js';
import { Metrics } from '../observability/metrics.js';
import { Pipelines } from '../pipeline/pipelines.js';
import { createAdapters } from '../providers/registry.js';
import type { ProviderAdapter } from '../providers/types.js';
import { UpstreamPools } from '../upstream/pools.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { HealthChecker } from '../routing/health.js';
import { registerOpenAISurface } from './openai.js';
import { sendError } from './respond.js';

export interface GatewayOptions {
  logger: Logger;
  clock?: Clock;
  /** Randomness for balancing and backoff jitter; tests pass a seeded one. */
  random?: () => number;
}

/** Maps fastify's own errors (body parsing, limits) to the catalog. */
function fromFastifyError(err: FastifyError, bodyLimit: number): SluiceError {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SluiceError('SLUICE_ERR_INVALID_JSON', { message: `The request body is not valid JSON: ${err.message}` });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', { message: `The request body is larger than the limit of ${bodyLimit} bytes.` });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The request body must be JSON.' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The Content-Length header does not match the body.' });
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return new SluiceError('SLUICE_ERR_INVALID_JSON', { message: `The request body is not valid JSON: ${err.message}` });
  }
  return new SluiceError('SLUICE_ERR_INTERNAL', { cause: err });
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
  readonly #logger: Logger;
  #draining = false;

  constructor(config: RuntimeConfig, options: GatewayOptions) {
    this.config = config;
    this.#logger = options.logger;
    const clock = options.clock ?? systemClock;
    const now = (): number => clock.monotonic();
    this.bus = new EventBus((err) => this.#logger.error({ err }, 'event listener failed'));
    attachRequestLog(this.bus, this.#logger);
    this.#adapters = createAdapters(config.providers, this.#pools);
    for (const [name, provider] of Object.entries(config.providers)) {
      const adapter = this.#adapters.get(name);
      if (provider.healthCheck === null || adapter?.probe === undefined) continue;
      const probe = adapter.probe.bind(adapter);
      this.#health.set(name, new HealthChecker(name, provider.healthCheck, probe, clock, (t) => this.bus.emit('health:transition', t)));
    }
    this.#pipelines = new Pipelines(config, {
      adapters: this.#adapters,
      health: this.#health,
      clock,
      onBreakerTransition: (e) => this.bus.emit('breaker:transition', e),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.metrics = new Metrics(this.bus, () => this.#pipelines.runtimes());

    const app = Fastify({
      loggerInstance: options.logger as FastifyBaseLogger,
      bodyLimit: config.server.bodyLimit,
      requestIdHeader: 'x-request-id',
      genReqId: () => randomUUID(),
      // One line per request comes from the request log subscriber instead.
      logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: true }),
      return503OnClosing: false,
      forceCloseConnections: 'idle',
    });
    this.app = app;

    // Clients that post JSON without a JSON content type (curl -d) are served all the same.
    app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'));

    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      if (this.#draining) {
        reply.header('connection', 'close');
        sendError(reply, new SluiceError('SLUICE_ERR_SHUTTING_DOWN'));
        return;
      }
      done();
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
      return { status: 'ready', config: config.source, routes: config.routes.length, providers: Object.keys(config.providers).length };
    });
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', this.metrics.registry.contentType);
      return this.metrics.registry.metrics();
    });

    registerOpenAISurface(app, { pipelines: () => this.#pipelines, routing: config.routing, bus: this.bus, metrics: this.metrics, now });
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Starts listening (and active health checks); resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    for (const checker of this.#health.values()) checker.start();
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
    await Promise.all([...this.#adapters.values()].map((a) => a.close()));
    await this.#pools.close();
    return drained;
  }
}
