import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { errorCodes, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import { fromFastifyError } from './fastify-errors.js';
import { bodyTextOf, parseJsonBody, type ModelEndpoint } from './openai.js';
import { logInternal, writeErrorBody } from './respond.js';

/**
 * The fast path: POSTs of JSON to the model endpoints are read, parsed and handed to their
 * handler straight from Node's `request` event, without fastify's routing, hooks, content-type
 * negotiation and reply machinery, which were the largest part of the gateway's own CPU per
 * request after the pipeline itself (issue #7).
 *
 * It does what fastify would do for these requests, with the same results: the request id
 * from `x-request-id` or a new UUID; 503 while draining; the body limit checked against
 * Content-Length and while reading; a body that does not match its Content-Length refused;
 * JSON parsed by the same function as fastify's routes (secure-json-parse, `__proto__` refused) with fastify's
 * errors mapped to the catalog as the error handler maps them. Everything else goes to fastify
 * untouched: other methods and paths, other content types (`text/plain`, none, a charset
 * other than UTF-8), requests an HTTP service claims, and every request when CORS is on
 * (its headers and preflights are the plugin's).
 */
export interface FastPathDeps {
  /** Model endpoints by path. */
  readonly endpoints: ReadonlyMap<string, ModelEndpoint>;
  readonly bodyLimit: number;
  readonly draining: () => boolean;
  /** Whether an HTTP service takes the request (fastify's onRequest hook hands it over). */
  readonly claimed: (req: IncomingMessage) => boolean;
  readonly clientIp: (req: IncomingMessage) => string;
  readonly logger: Logger;
}

export class FastPath {
  readonly #deps: FastPathDeps;
  #served = 0;

  constructor(deps: FastPathDeps) {
    this.#deps = deps;
  }

  /** Requests taken so far (for tests and debugging: which path served). */
  get served(): number {
    return this.#served;
  }

  /** Serves the request when it is one of ours; false leaves it (untouched) to fastify. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const endpoint = this.#deps.endpoints.get(q === -1 ? url : url.slice(0, q));
    if (endpoint === undefined || !isJsonType(req.headers['content-type']) || this.#deps.claimed(req)) return false;
    this.#served++;
    const id = requestId(req);
    if (this.#deps.draining()) {
      const e = new SluiceError('SLUICE_ERR_SHUTTING_DOWN');
      writeErrorBody(res, e, e.toBody(), id, { connection: 'close' }, null);
      return true;
    }
    readBody(req, this.#deps.bodyLimit, (err, text) => {
      if (err !== null) {
        if (err === 'gone') {
          endpoint.closed(id);
          return;
        }
        const e = fromFastifyError(err, this.#deps.bodyLimit);
        logInternal(this.#deps.logger, e, id);
        writeErrorBody(res, e, endpoint.dialect.errorBody(e, id), id, null, null);
        return;
      }
      let body: unknown;
      try {
        body = parseJsonBody(text);
      } catch (parseError) {
        const e = fromFastifyError(parseError as FastifyError, this.#deps.bodyLimit);
        logInternal(this.#deps.logger, e, id);
        writeErrorBody(res, e, endpoint.dialect.errorBody(e, id), id, null, null);
        return;
      }
      endpoint.serve({ id, ip: this.#deps.clientIp(req), headers: req.headers, body, text: bodyTextOf(text), res, base: null }).catch((failure: unknown) => {
        // The handler answers every error itself; reaching this is a bug, not a client's doing.
        this.#deps.logger.error({ err: failure, reqId: id }, 'unhandled error');
        res.destroy();
      });
    });
    return true;
  }
}

/** `application/json`, alone or with `charset=utf-8`: what OpenAI and Anthropic clients send. */
function isJsonType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  if (ct === 'application/json' || ct === 'application/json; charset=utf-8') return true;
  const lower = ct.toLowerCase();
  return lower === 'application/json' || lower === 'application/json; charset=utf-8' || lower === 'application/json;charset=utf-8';
}

/** The client's `x-request-id` as fastify's `requestIdHeader` takes it, else a new UUID. */
function requestId(req: IncomingMessage): string {
  const v = req.headers['x-request-id'];
  return typeof v === 'string' && v !== '' ? v : randomUUID();
}

/**
 * Reads a body of at most `limit` bytes as UTF-8 text, as fastify's raw body reader does:
 * a declared Content-Length over the limit is refused before reading, a body growing past it
 * while read, and a body whose length differs from its Content-Length after. `'gone'` when the
 * request stream failed: the client left, and there is no one to answer.
 */
function readBody(req: IncomingMessage, limit: number, done: (err: FastifyError | 'gone' | null, text: string) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), '');
    return;
  }
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  let received = 0;
  const stop = (): void => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onError);
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) {
      stop();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), '');
      return;
    }
    if (first === null) first = chunk;
    else (rest ??= [first]).push(chunk);
  };
  const onEnd = (): void => {
    stop();
    if (!Number.isNaN(declared) && received !== declared) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), '');
      return;
    }
    // Decoded once at the end, so a character split across chunks stays whole.
    const text = rest !== null ? Buffer.concat(rest, received).toString('utf8') : first === null ? '' : (first as Buffer).toString('utf8');
    done(null, text);
  };
  const onError = (): void => {
    stop();
    done('gone', '');
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

/** fastify's `trustProxy`, as one function both fastify and the fast path use; false trusts no proxy. */
export type TrustProxy = false | ((address: string, hop: number) => boolean);

export function trustProxyFunction(v: boolean | number | readonly string[]): TrustProxy {
  if (v === false) return false;
  if (v === true) return () => true;
  if (typeof v === 'number') return (_address, hop) => hop < v;
  return proxyAddr.compile([...v]);
}

/** The client's address as fastify's `request.ip` gives it under the same `trustProxy`. */
export function clientIpFunction(trust: TrustProxy): (req: IncomingMessage) => string {
  if (trust === false) return (req) => req.socket.remoteAddress ?? '';
  return (req) => {
    const all = proxyAddr.all(req, trust);
    return all[all.length - 1] ?? '';
  };
}

/**
 * fastify's `serverFactory`: the HTTP/1 server fastify would make (with its timeouts from the
 * options it passes), whose requests go to `take` first and to fastify's handler otherwise.
 */
export function serverFactory(take: (req: IncomingMessage, res: ServerResponse) => boolean) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: Record<string, unknown>): Server => {
    const server = createServer((opts.http ?? {}) as ServerOptions, (req, res) => {
      if (!take(req, res)) handler(req, res);
    });
    if (typeof opts.keepAliveTimeout === 'number') server.keepAliveTimeout = opts.keepAliveTimeout;
    if (typeof opts.requestTimeout === 'number') server.requestTimeout = opts.requestTimeout;
    if (typeof opts.connectionTimeout === 'number') server.setTimeout(opts.connectionTimeout);
    if (typeof opts.maxRequestsPerSocket === 'number' && opts.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
}
