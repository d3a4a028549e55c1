import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SluiceError, toSluiceError } from '../errors.js';
import type { HttpServices } from '../http/services.js';
import { noUpgrades, refuseUpgrade } from '../http/websocket.js';
import type { ModelEndpoint, ModelListRequest } from '../surfaces/endpoints.js';
import type { StoredResponseRequest } from '../surfaces/responses/stored.js';
import { isFilesPath, type FilesRequest } from '../batches/surface.js';
import { logInternal, writeErrorBody, type BaseHeaders } from '../surfaces/respond.js';
import { bodyTextOf, hasNoBody, isPlainText, parseJsonBody, readBody, type BodyFailure } from './body.js';
import type { ConnectionGate } from './connection-limits.js';
import type { EdgeCors } from './cors.js';
import { requestId } from './request-id.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * What the edge dispatches to: the handlers of one config version (gateway/version.ts). A
 * reload swaps them (`Edge.swap`); each request reads them once, so it finishes on the
 * version it started with.
 */
export interface EdgeRoutes {
  /** Model endpoints by path (POST). */
  readonly endpoints: ReadonlyMap<string, ModelEndpoint>;
  /** GET /v1/models and /v1/models/{model}; null leaves the paths to the control plane. */
  readonly models: ((x: ModelListRequest) => Promise<void>) | null;
  /** The HTTP services; null when the config has none (model requests then skip the lookup). */
  readonly services: HttpServices | null;
  /** GET and DELETE under /v1/responses/ (stored responses, issue 18); absent leaves them to the control plane. */
  readonly storedResponses?: (x: StoredResponseRequest) => Promise<void>;
}

export interface EdgeDeps {
  /** Client connection limits: a refused connection's request is answered its refusal first. */
  readonly gate: ConnectionGate;
  /** The first config version's handlers. */
  readonly routes: EdgeRoutes;
  /** CORS (`server.cors`); null when no origin is allowed. */
  readonly cors: EdgeCors | null;
  /** The client's address under `server.trustProxy` (edge/client-address.ts). */
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly bodyLimit: number;
  /** Where 500s are logged with their cause. */
  readonly logger: Logger;
  /** Everything under /v1/files and /v1/batches (issue 21), its body unread; null or absent leaves them to the control plane. */
  readonly files?: ((x: FilesRequest) => Promise<void>) | null;
}

const CLOSE = { connection: 'close' } as const;

/**
 * The data plane's one way in (issue 17): a node:http `request` and `upgrade` listener for
 * every model, service and upgrade request. Here, and nowhere else, a request gets its id
 * (edge/request-id.ts), a refused connection its refusal, a draining gateway's 503, CORS, its
 * client address, its body read under the limit and parsed as JSON; then it is dispatched:
 *
 * 1. an HTTP service that matches host and path takes it (its body streams through unread);
 * 2. a POST to a model endpoint is read, parsed and handed to the endpoint;
 * 3. GET /v1/models and /v1/models/{model} are answered;
 * 4. anything else goes to the control plane (fastify: admin API, health, readiness, metrics,
 *    and the catalog's 404 for unknown paths).
 *
 * Model requests never touch fastify. Per request the edge allocates no closures beyond the
 * body reader's listeners and one failure handler, as the fast path it replaces did.
 */
export class Edge {
  readonly #deps: EdgeDeps;
  #routes: EdgeRoutes;
  #control: RequestListener | null = null;
  #draining = false;

  constructor(deps: EdgeDeps) {
    this.#deps = deps;
    this.#routes = deps.routes;
    this.onRequest = this.onRequest.bind(this);
    this.onUpgrade = this.onUpgrade.bind(this);
  }

  /** From now on new requests and upgrades go to `routes` (a reloaded config); those in flight finish where they started. */
  swap(routes: EdgeRoutes): void {
    this.#routes = routes;
  }

  /** From now on every request and upgrade is answered 503 SLUICE_ERR_SHUTTING_DOWN with Connection: close. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * fastify's `serverFactory`: the HTTP/1 server the edge listens on (with the timeouts fastify
   * passes), whose requests fastify's handler sees only when the edge hands them over.
   */
  serverFactory(control: RequestListener, opts: Record<string, unknown>): Server {
    this.#control = control;
    return this.createServer((opts.http ?? {}) as ServerOptions, opts);
  }

  /** A server with the edge's listeners (and the connection gate) on it; `timeouts` as fastify passes them. */
  createServer(options: ServerOptions = {}, timeouts: Record<string, unknown> = {}): Server {
    const server = createServer(options, this.onRequest);
    if (typeof timeouts.keepAliveTimeout === 'number') server.keepAliveTimeout = timeouts.keepAliveTimeout;
    if (typeof timeouts.requestTimeout === 'number') server.requestTimeout = timeouts.requestTimeout;
    if (typeof timeouts.connectionTimeout === 'number') server.setTimeout(timeouts.connectionTimeout);
    if (typeof timeouts.maxRequestsPerSocket === 'number' && timeouts.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = timeouts.maxRequestsPerSocket;
    this.#deps.gate.attach(server);
    server.on('upgrade', this.onUpgrade);
    return server;
  }

  /** The server's `request` listener. */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const deps = this.#deps;
    if (deps.gate.refuse(req, res)) return;
    const id = requestId(req);
    const cors = deps.cors === null ? null : deps.cors.headers(req.headers.origin);
    if (this.#draining) {
      const e = new SluiceError('SLUICE_ERR_SHUTTING_DOWN');
      writeErrorBody(res, e, e.toBody(), id, cors, CLOSE);
      return;
    }
    const method = req.method;
    if (cors !== null && method === 'OPTIONS') {
      deps.cors!.preflight(req, res, cors, id);
      return;
    }
    const routes = this.#routes;
    // A service that matches takes the request before its body is read: the body streams through.
    if (routes.services !== null && routes.services.take(req, res, id)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (method === 'POST') {
      const endpoint = routes.endpoints.get(path);
      if (endpoint !== undefined) {
        this.#model(req, res, endpoint, id, cors);
        return;
      }
    } else if ((method === 'GET' || method === 'HEAD') && routes.models !== null && (path === '/v1/models' || path.startsWith(MODEL_PREFIX))) {
      const model = path === '/v1/models' ? null : modelOfPath(path);
      routes.models({ id, ip: deps.clientAddress(req), headers: req.headers, res, base: cors, model, query: q === -1 ? '' : url.slice(q + 1) }).catch((err: unknown) => this.#unhandled(err, id, res));
      return;
    } else if ((method === 'GET' || method === 'DELETE') && routes.storedResponses !== undefined && path.startsWith('/v1/responses/')) {
      req.resume();
      const x = { id, ip: deps.clientAddress(req), method, path, query: q === -1 ? '' : url.slice(q + 1), headers: req.headers, res, base: cors };
      routes.storedResponses(x).catch((err: unknown) => this.#unhandled(err, id, res));
      return;
    }
    const files = deps.files ?? null;
    if (files !== null && isFilesPath(path)) {
      const x = { id, ip: deps.clientAddress(req), method: method ?? 'GET', path, query: q === -1 ? '' : url.slice(q + 1), headers: req.headers, req, res, base: cors };
      files(x).catch((err: unknown) => this.#unhandled(err, id, res));
      return;
    }
    if (this.#control !== null) {
      this.#control(req, res);
      return;
    }
    req.resume();
    const e = notFound(method, path);
    writeErrorBody(res, e, e.toBody(), id, cors, null);
  }

  /** The server's `upgrade` listener: WebSocket (or other) upgrades go to the service that takes them. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const id = requestId(req);
    const refusal = this.#deps.gate.refusalFor(req.socket);
    if (refusal !== null) {
      refuseUpgrade(socket, refusal, id);
      return;
    }
    if (this.#draining) {
      refuseUpgrade(socket, new SluiceError('SLUICE_ERR_SHUTTING_DOWN'), id);
      return;
    }
    const services = this.#routes.services;
    if (services === null) {
      refuseUpgrade(socket, noUpgrades(), id);
      return;
    }
    services.upgrade(req, socket, head, this.#deps.clientAddress(req), id);
  }

  /** Reads and parses a model request's body, then hands it to its endpoint. */
  #model(req: IncomingMessage, res: ServerResponse, endpoint: ModelEndpoint, id: string, cors: BaseHeaders | null): void {
    // The dialect's own request-id header goes on every answer, errors and streams included.
    const idHeader = endpoint.dialect.idHeader;
    const base = idHeader === undefined ? cors : { ...cors, [idHeader]: id };
    // A POST without any body (no type, no length) reaches the endpoint, whose validation names what is missing.
    if (hasNoBody(req)) {
      this.#serve(req, res, endpoint, id, base, undefined, null);
      return;
    }
    readBody(req, this.#deps.bodyLimit, (failure, text) => {
      if (failure !== null) {
        this.#refuse(res, endpoint, failure, id, base);
        return;
      }
      if (isPlainText(req.headers['content-type'])) {
        this.#serve(req, res, endpoint, id, base, text, null);
        return;
      }
      let body: unknown;
      try {
        body = parseJsonBody(text);
      } catch (err) {
        this.#refuse(res, endpoint, toSluiceError(err), id, base);
        return;
      }
      this.#serve(req, res, endpoint, id, base, body, bodyTextOf(text));
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse, endpoint: ModelEndpoint, id: string, base: BaseHeaders | null, body: unknown, text: string | null): void {
    endpoint.serve({ id, ip: this.#deps.clientAddress(req), headers: req.headers, body, text, res, base }).catch((err: unknown) => this.#unhandled(err, id, res));
  }

  /** A body that could not be read or parsed, answered in the endpoint's dialect; a client that left is recorded, not answered. */
  #refuse(res: ServerResponse, endpoint: ModelEndpoint, failure: BodyFailure, id: string, base: BaseHeaders | null): void {
    if (failure === 'gone') {
      endpoint.closed(id);
      return;
    }
    logInternal(this.#deps.logger, failure, id);
    writeErrorBody(res, failure, endpoint.dialect.errorBody(failure, id), id, base, null);
  }

  /** The handlers answer every error themselves; reaching this is a bug, not a client's doing. */
  #unhandled(err: unknown, id: string, res: ServerResponse): void {
    this.#deps.logger.error({ err, reqId: id }, 'unhandled error');
    res.destroy();
  }
}

const MODEL_PREFIX = '/v1/models/';

/**
 * The model id of GET /v1/models/{model}: the rest of the path, percent-decoded (SDKs encode
 * a "/" in ids such as "meta/llama-3" as %2F; a raw "/" is taken too). Bad escapes name no model.
 */
function modelOfPath(path: string): string {
  try {
    return decodeURIComponent(path.slice(MODEL_PREFIX.length));
  } catch {
    return '';
  }
}

/** The catalog's 404 for a path nothing serves (the control plane writes the same). */
export function notFound(method: string | undefined, path: string): SluiceError {
  return new SluiceError('SLUICE_ERR_NOT_FOUND', { message: `No such endpoint: ${method ?? 'GET'} ${path}.` });
}
