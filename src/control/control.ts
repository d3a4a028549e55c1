import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import type { TrustProxy } from '../edge/client-address.js';
import type { CorsOptions } from '../edge/cors.js';
import { notFound } from '../edge/edge.js';
import { requestId } from '../edge/request-id.js';
import { lazyChildLogger } from '../observability/lazy-logger.js';
import type { Metrics } from '../observability/metrics.js';
import { registerAdminApi, type AdminDeps } from './admin.js';
import { fromFastifyError, sendError } from './fastify-errors.js';
import { CONSOLE_BUILD_DIR, registerConsole } from './console.js';
import { registerConsoleAuth } from './oidc.js';

/** What GET /ready answers: its status code and body. */
export interface Readiness {
  readonly status: number;
  readonly body: unknown;
}

export interface ControlDeps {
  readonly logger: Logger;
  readonly bodyLimit: number;
  readonly trust: TrustProxy;
  readonly cors: CorsOptions | null;
  /** The edge's server factory: the control plane sees only the requests the edge hands over. */
  readonly serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: Record<string, unknown>) => Server;
  readonly readiness: () => Readiness;
  readonly metrics: Metrics;
  /** The admin API, when admin tokens are configured. */
  readonly admin: AdminDeps | null;
}

/** Response headers the control plane's CORS exposes (as the edge's). */
const EXPOSED = ['x-request-id', 'x-sluice-cache', 'ratelimit', 'ratelimit-policy', 'retry-after'];

/**
 * The control plane: health, readiness, metrics and the admin API, on fastify. It serves only
 * what the edge (edge/edge.ts) hands over, after the edge has answered connection refusals,
 * draining and CORS preflights; unknown paths get the catalog's 404 here.
 */
export function controlPlane(deps: ControlDeps): FastifyInstance {
  const app = Fastify({
    serverFactory: deps.serverFactory,
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit,
    // The edge's one rule for request ids.
    requestIdHeader: false,
    genReqId: requestId,
    childLoggerFactory: lazyChildLogger,
    // One line per request comes from the request log subscriber instead.
    logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: true }),
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    trustProxy: deps.trust,
    // Paths fastify's router refuses before any hook (`/x%zz`; a path parameter over 100
    // characters, which fastify alone answers 414) get catalog codes like everything else.
    frameworkErrors: (error, request, reply) => {
      const e =
        error.code === 'FST_ERR_BAD_URL'
          ? new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'The request path has a malformed percent-escape.' })
          : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'A path segment is longer than 100 characters.' })
            : fromFastifyError(error, deps.bodyLimit);
      if (e.code === 'SLUICE_ERR_INTERNAL') deps.logger.error({ err: e.cause ?? e, reqId: request.id }, 'internal error');
      sendError(reply, e);
    },
  });
  if (deps.cors !== null) {
    void app.register(cors, {
      origin: [...deps.cors.origins],
      credentials: deps.cors.credentials,
      maxAge: Math.round(deps.cors.maxAgeMs / 1000),
      exposedHeaders: EXPOSED,
    });
  }
  // Clients that post JSON without a JSON content type (curl -d) are served all the same.
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'));
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = err instanceof SluiceError ? err : fromFastifyError(err, deps.bodyLimit);
    if (e.code === 'SLUICE_ERR_INTERNAL') request.log.error({ err }, 'unhandled error');
    sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, notFound(request.method, request.url.split('?')[0] ?? ''));
  });

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const r = deps.readiness();
    reply.code(r.status);
    return r.body;
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await deps.metrics.render();
    reply.header('content-type', contentType);
    return text;
  });
  if (deps.admin !== null) {
    registerAdminApi(app, deps.admin);
    registerConsoleAuth(app, deps.admin.signIn);
    if (!registerConsole(app)) deps.logger.warn({ dir: CONSOLE_BUILD_DIR }, 'the web console is not built (npm run build); /console is not served');
  }
  return app;
}
