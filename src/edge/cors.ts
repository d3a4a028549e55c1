import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { BaseHeaders } from '../surfaces/respond.js';

export interface CorsOptions {
  readonly origins: readonly string[];
  readonly credentials: boolean;
  readonly maxAgeMs: number;
}

/** Response headers browsers may read: the request id (Anthropic's `request-id` too), cache status, rate limit state, an estimated token count. */
const EXPOSED = 'x-request-id, request-id, x-sluice-cache, ratelimit, ratelimit-policy, retry-after, x-sluice-estimated';
const METHODS = 'GET,HEAD,POST';

/**
 * CORS on the edge (`server.cors`), answering as @fastify/cors did when fastify served the model
 * endpoints (it still serves the control plane's): the allowed origin reflected (or `*` when the
 * list holds it) with `Vary: Origin`, credentials and exposed headers on every answer, and
 * preflights (OPTIONS with Origin and Access-Control-Request-Method) answered 204 before any
 * other handling; an OPTIONS without them is a 400. The header sets are built once per origin,
 * so an answer costs a map lookup.
 */
export class EdgeCors {
  readonly #byOrigin = new Map<string, BaseHeaders>();
  readonly #denied: BaseHeaders;
  readonly #any: BaseHeaders | null;
  readonly #maxAge: string;

  constructor(options: CorsOptions) {
    const any = options.origins.includes('*');
    const common: Record<string, string> = {};
    if (!any) common.vary = 'Origin';
    if (options.credentials) common['access-control-allow-credentials'] = 'true';
    common['access-control-expose-headers'] = EXPOSED;
    this.#denied = Object.freeze({ ...common });
    this.#any = any ? Object.freeze({ 'access-control-allow-origin': '*', ...common }) : null;
    for (const origin of options.origins) this.#byOrigin.set(origin, Object.freeze({ 'access-control-allow-origin': origin, ...common }));
    this.#maxAge = String(Math.round(options.maxAgeMs / 1000));
  }

  /** The CORS headers of an answer to a request from `origin`. */
  headers(origin: string | undefined): BaseHeaders {
    if (this.#any !== null) return this.#any;
    return (origin === undefined ? undefined : this.#byOrigin.get(origin)) ?? this.#denied;
  }

  /** Answers an OPTIONS request (a preflight), with `base` (the CORS headers) and the request id. */
  preflight(req: IncomingMessage, res: ServerResponse, base: BaseHeaders, requestId: string): void {
    const h = req.headers;
    if (h.origin === undefined || h['access-control-request-method'] === undefined) {
      const text = 'Invalid Preflight Request';
      res.writeHead(400, { ...base, 'x-request-id': requestId, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) } as OutgoingHttpHeaders);
      res.end(text);
      return;
    }
    const headers: Record<string, string | number | string[] | undefined> = { ...base, 'x-request-id': requestId, 'access-control-allow-methods': METHODS };
    headers.vary = base.vary === undefined ? 'Access-Control-Request-Headers' : `${String(base.vary)}, Access-Control-Request-Headers`;
    const asked = h['access-control-request-headers'];
    if (asked !== undefined) headers['access-control-allow-headers'] = asked;
    headers['access-control-max-age'] = this.#maxAge;
    headers['content-length'] = 0;
    res.writeHead(204, headers as OutgoingHttpHeaders);
    res.end();
  }
}
