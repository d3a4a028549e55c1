import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledService } from '../config/services.js';
import type { ErrorCode } from '../errors.js';
import type { AdmissionContext } from '../exchange/context.js';
import type { Settlement } from '../exchange/results.js';
import { ANONYMOUS, type Principal } from '../exchange/principal.js';
import type { JsonObject } from '../providers/types.js';
import { Cancellation } from '../lib/cancel.js';

const EMPTY_BODY: JsonObject = Object.freeze({});

/** A copy of an upstream answer for the response cache, taken as it streams to the client. */
export interface ResponseCapture {
  /** Bodies larger than this are not copied. */
  readonly maxBytes: number;
  /** Whether an answer with this status and these headers may be stored at all. */
  wants(status: number, headers: IncomingHttpHeaders): boolean;
  /** The whole answer, as the upstream sent it (before any compression by Sluice). */
  done(status: number, headers: IncomingHttpHeaders, body: Buffer): void;
}

/**
 * What one request to an HTTP service carries through its chain (admit, [cache], forward).
 * It has the admission fields of a model request (AdmissionContext), so the same admit stage
 * and settlement serve it; the rest is about forwarding. Every field is initialised here so
 * the object keeps one shape.
 */
export class HttpContext implements AdmissionContext {
  readonly id: string;
  readonly service: CompiledService;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** Path and query, normalised (http/path.ts): what was matched and what is forwarded. */
  readonly url: string;
  /** The client address (edge/client-address.ts: honours `server.trustProxy`). */
  readonly ip: string;
  readonly startedAt: number;
  /** Aborted when the client leaves; no AbortController is built unless something asks for `signal`. */
  readonly controller = new Cancellation();

  // AdmissionContext: no model, no JSON body, no tokens on an HTTP route.
  readonly model = null;
  readonly body = EMPTY_BODY;
  readonly estimatedPromptTokens = 0;
  readonly declaredCompletionTokens = 0;
  readonly usage = null;
  readonly target = null;
  principal: Principal = ANONYMOUS;
  requestedPriority: number | null = null;
  priority = 0;
  settlement: Settlement | null = null;
  responseHeaders: Record<string, string> | null = null;

  /** The instance that answered (its configured URL), or the last one tried. */
  instance: string | null = null;
  /** Attempts after the first. */
  retries = 0;
  status = 0;
  errorCode: ErrorCode | null = null;
  /** Monotonic ms of the response head; -1 until then. */
  firstByteAt = -1;
  endedAt = -1;
  clientGone = false;
  /** What the response cache did, when the service caches. */
  cacheResult: string | null = null;
  /** Set by the cache stage on a miss: receives a cacheable answer's head and body once it is complete. */
  capture: ResponseCapture | null = null;

  constructor(id: string, service: CompiledService, req: IncomingMessage, res: ServerResponse, ip: string, startedAt: number, url: string = req.url ?? '/') {
    this.id = id;
    this.service = service;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.url = url;
    this.ip = ip;
    this.startedAt = startedAt;
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  /** Whether the request has a body to stream (which then cannot be replayed on a retry). */
  get hasBody(): boolean {
    const h = this.req.headers;
    return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
  }
}
