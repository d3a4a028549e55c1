import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher, Pool } from 'undici';
import type { RetryBudget } from '../routing/retry.js';
import { SluiceError, toSluiceError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Next, Stage } from '../exchange/compose.js';
import { readBytes } from '../edge/body.js';
import { isTransportError } from '../routing/outcome.js';
import { requestAnswer, type UpstreamAnswer } from '../upstream/answer.js';
import { mapUpstreamError } from '../upstream/errors.js';
import type { Balancer } from './balancer.js';
import { chooseEncoding, compressor, shouldCompress } from './compress.js';
import type { HttpContext, ResponseCapture } from './context.js';
import { credentialToStrip, endToEnd, rewritePath, upstreamHeaders } from './headers.js';
import type { InstanceAttempt, InstanceState } from './instance.js';

export interface ForwardDeps {
  readonly balancer: Balancer;
  /** Caps retries to a share of requests, so an outage of every instance does not multiply the load. */
  readonly budget: RetryBudget;
  readonly pool: (instance: InstanceState) => Pool;
  readonly clock: Clock;
  /** Whether the client's peer is a proxy whose X-Forwarded-* may be kept. */
  readonly trusted: (peer: string) => boolean;
}

/**
 * Bodies up to this size (request and response, by their Content-Length) are read whole and
 * written in one piece: one write for head and body on each side instead of a stream pipeline
 * (its listeners, its AbortController, a write per chunk). Larger bodies, bodies of unknown
 * length (chunked, SSE) and compressed answers stream with backpressure.
 */
export const WHOLE_BODY_BYTES = 64 * 1024;

/**
 * The terminal stage of an HTTP service: forwards the request to an instance and streams the
 * answer back, both bodies with backpressure. Idempotent methods (the service's
 * `retry.methods`) without a body are retried on another instance after a connection error,
 * a timeout before the response head, or a status in `retry.on`; a request whose body was
 * streamed upstream cannot be replayed and is sent once. Nothing is retried once the
 * response head reached the client.
 */
export class ForwardStage implements Stage<HttpContext> {
  readonly name = 'forward';
  readonly #deps: ForwardDeps;

  constructor(deps: ForwardDeps) {
    this.#deps = deps;
  }

  async run(ctx: HttpContext, next: Next<HttpContext>): Promise<void> {
    const svc = ctx.service;
    const limit = svc.bodyLimit;
    const declared = Number(ctx.req.headers['content-length'] ?? 0);
    if (limit !== null && declared > limit) throw bodyTooLarge(limit);
    const retryable = svc.retry.methods.has(ctx.method) && !ctx.hasBody;
    // A small body of known length is read before the first attempt (the same limit applies).
    const whole = ctx.hasBody && declared > 0 && declared <= WHOLE_BODY_BYTES && ctx.req.headers['transfer-encoding'] === undefined ? await readWhole(ctx, limit ?? declared) : null;
    const attempts = retryable ? 1 + svc.retry.attempts : 1;
    const tried = new Set<InstanceState>();
    this.#deps.budget.recordRequest();
    const path = ctx.url.split('?', 1)[0]!;
    let last: SluiceError | null = null;
    for (let n = 0; n < attempts; n++) {
      if (ctx.controller.aborted) break;
      const pick = this.#deps.balancer.pick({ headers: ctx.req.headers, ip: ctx.ip, path }, tried);
      if (pick === null) break;
      tried.add(pick.instance);
      const attempt = pick.instance.begin();
      if (attempt === null) {
        n--; // a half-open instance whose probe slot is taken: not an attempt
        continue;
      }
      if (n > 0) ctx.retries++;
      ctx.instance = pick.instance.config.url;
      const started = this.#deps.clock.monotonic();
      let upstream: UpstreamAnswer;
      try {
        upstream = await this.#send(ctx, pick.instance, whole);
      } catch (err) {
        const e = ctx.clientGone ? toSluiceError(err) : toSluiceError(mapUpstreamError(err, pick.instance.config.url, false));
        attempt.finish(ctx.clientGone || !isTransportError(e) ? 'neutral' : 'failure');
        last = e;
        if (!isTransportError(e)) throw e;
        if (!this.#mayRetry(n + 1, attempts, tried)) break;
        continue;
      }
      const status = upstream.statusCode;
      if (status >= 500 && svc.retry.on.has(status) && this.#mayRetry(n + 1, attempts, tried)) {
        attempt.finish('failure');
        // Small error bodies are read so the connection can be reused; bigger ones close it.
        upstream.body.dump();
        last = new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status, message: `Instance ${pick.instance.config.url} answered ${status}.` });
        continue;
      }
      await this.#respond(ctx, upstream, pick.setCookie, attempt, this.#deps.clock.monotonic() - started);
      return next(ctx);
    }
    throw last ?? new SluiceError('SLUICE_ERR_NO_HEALTHY_TARGET', { message: `No instance of service "${svc.name}" is available.`, headers: { 'retry-after': '1' } });
  }

  /** Whether attempt `next` may be made: within the attempts, another instance left, and the retry budget allows it. */
  #mayRetry(next: number, attempts: number, tried: ReadonlySet<InstanceState>): boolean {
    return next < attempts && this.#deps.balancer.hasOther(tried) && this.#deps.budget.tryWithdraw();
  }

  #send(ctx: HttpContext, instance: InstanceState, whole: Buffer | null): Promise<UpstreamAnswer> {
    const svc = ctx.service;
    const inst = instance.config;
    const strip = credentialToStrip(svc.forwardCredentials, ctx.principal, ctx.req.headers);
    const headers = upstreamHeaders(ctx.req, inst.host, ctx.id, this.#deps.trusted(ctx.req.socket.remoteAddress ?? ''), strip);
    let body: Readable | Buffer | null = whole;
    if (whole === null && ctx.hasBody) body = svc.bodyLimit === null ? ctx.req : ctx.req.pipe(new ByteLimit(svc.bodyLimit, () => bodyTooLarge(svc.bodyLimit!)));
    const options: Dispatcher.DispatchOptions = {
      method: ctx.method as Dispatcher.HttpMethod,
      path: rewritePath(ctx.url, svc.pathPrefix, svc.rewritePrefix, inst.basePath),
      headers: headers as Record<string, string | string[]>,
      body,
      headersTimeout: svc.timeouts.firstByteMs,
      bodyTimeout: svc.timeouts.idleMs,
    };
    return requestAnswer(this.#deps.pool(instance), options, ctx.controller);
  }

  /** Sends the response head and streams the body; settles the attempt when the body is done. */
  async #respond(ctx: HttpContext, upstream: UpstreamAnswer, setCookie: string | null, attempt: InstanceAttempt, latencyMs: number): Promise<void> {
    const svc = ctx.service;
    const raw = upstream.headers;
    const length = raw['content-length'];
    if (svc.responseLimit !== null && length !== undefined && Number(length) > svc.responseLimit) {
      upstream.body.destroy();
      attempt.finish('neutral');
      throw responseTooLarge(svc.responseLimit);
    }
    // endToEnd's copy is ours: added to in place rather than spread into another copy.
    const headers = endToEnd(raw);
    if (ctx.responseHeaders !== null) Object.assign(headers, ctx.responseHeaders);
    headers['x-request-id'] = ctx.id;
    if (setCookie !== null) headers['set-cookie'] = [...asList(headers['set-cookie']), setCookie];
    const stages: Transform[] = [];
    const capture = ctx.capture !== null && ctx.method === 'GET' && ctx.capture.wants(upstream.statusCode, raw) ? new Tap(ctx.capture.maxBytes) : null;
    if (capture !== null) stages.push(capture);
    const encoding = svc.compressMinBytes === null ? null : chooseEncoding(ctx.req.headers['accept-encoding']);
    if (encoding !== null && shouldCompress(ctx.method, upstream.statusCode, raw, svc.compressMinBytes!)) {
      delete headers['content-length'];
      headers['content-encoding'] = encoding;
      headers.vary = [...asList(headers.vary), 'Accept-Encoding'].join(', ');
      // A strong validator names exact bytes; the compressed bytes differ (as nginx does, RFC 9110 §8.8.1).
      const etag = headers.etag;
      if (typeof etag === 'string' && etag.startsWith('"')) headers.etag = `W/${etag}`;
      stages.push(compressor(encoding));
    }
    if (svc.responseLimit !== null && length === undefined) stages.push(new ByteLimit(svc.responseLimit, () => responseTooLarge(svc.responseLimit!)));
    ctx.status = upstream.statusCode;
    ctx.firstByteAt = this.#deps.clock.monotonic();
    if (stages.length === (capture === null ? 0 : 1) && length !== undefined && Number(length) <= WHOLE_BODY_BYTES) {
      await this.#respondWhole(ctx, upstream, headers, attempt, latencyMs, capture === null ? null : ctx.capture);
      return;
    }
    ctx.res.writeHead(upstream.statusCode, headers);
    try {
      await pipeline([upstream.body.stream(), ...stages, ctx.res]);
      attempt.finish(upstream.statusCode >= 500 ? 'failure' : 'success', latencyMs);
      const copy = capture?.body() ?? null;
      if (copy !== null) ctx.capture!.done(upstream.statusCode, raw as IncomingHttpHeaders, copy);
    } catch (err) {
      // The head is out: the only way to tell the client is to cut the connection.
      ctx.res.destroy();
      if (ctx.clientGone) {
        attempt.finish('neutral');
        return;
      }
      const e = toSluiceError(mapUpstreamError(err, ctx.instance ?? svc.name, true));
      attempt.finish(isTransportError(e) ? 'failure' : 'neutral');
      ctx.errorCode = e.code;
    }
  }

  /**
   * A small answer of known length: read whole, then head and body written at once. Until the
   * body is in, nothing has gone to the client, so an upstream that breaks off mid-body gets a
   * proper 502 instead of a cut connection.
   */
  async #respondWhole(ctx: HttpContext, upstream: UpstreamAnswer, headers: OutgoingHttpHeaders, attempt: InstanceAttempt, latencyMs: number, capture: ResponseCapture | null): Promise<void> {
    let body: Buffer;
    try {
      body = await upstream.body.whole();
    } catch (err) {
      if (ctx.clientGone) {
        attempt.finish('neutral');
        throw err;
      }
      const e = toSluiceError(mapUpstreamError(err, ctx.instance ?? ctx.service.name, false));
      attempt.finish(isTransportError(e) ? 'failure' : 'neutral');
      throw e;
    }
    ctx.res.writeHead(upstream.statusCode, headers);
    ctx.res.end(body);
    attempt.finish(upstream.statusCode >= 500 ? 'failure' : 'success', latencyMs);
    if (capture !== null && body.length <= capture.maxBytes) capture.done(upstream.statusCode, upstream.headers as IncomingHttpHeaders, body);
  }
}

/** Reads a request body of known, small length whole, within `limit`; a client that leaves is a client-closed error. */
function readWhole(ctx: HttpContext, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readBytes(ctx.req, limit, (failure, bytes) => {
      if (failure === null) resolve(bytes);
      else reject(failure === 'gone' ? new SluiceError('SLUICE_ERR_CLIENT_CLOSED') : failure.code === 'SLUICE_ERR_BODY_TOO_LARGE' ? bodyTooLarge(limit) : failure);
    });
  });
}

function asList(v: OutgoingHttpHeaders[string]): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}

function bodyTooLarge(limit: number): SluiceError {
  return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', { message: `The request body is larger than this service's limit of ${limit} bytes.` });
}

function responseTooLarge(limit: number): SluiceError {
  return new SluiceError('SLUICE_ERR_RESPONSE_TOO_LARGE', { message: `The upstream response is larger than this service's limit of ${limit} bytes.` });
}

/** Passes bytes through and keeps a copy of them, up to `max` bytes (beyond it, no copy). */
class Tap extends Transform {
  readonly #max: number;
  #chunks: Buffer[] | null = [];
  #size = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#chunks !== null) {
      this.#size += chunk.length;
      if (this.#size > this.#max) this.#chunks = null;
      else this.#chunks.push(chunk);
    }
    callback(null, chunk);
  }

  /** The whole body, or null when it outgrew the bound. */
  body(): Buffer | null {
    return this.#chunks === null ? null : Buffer.concat(this.#chunks, this.#size);
  }
}

/** Passes bytes through until `limit`, then fails with `error()`: bounds a body of unknown length. */
class ByteLimit extends Transform {
  readonly #limit: number;
  readonly #error: () => SluiceError;
  #seen = 0;

  constructor(limit: number, error: () => SluiceError) {
    super();
    this.#limit = limit;
    this.#error = error;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) callback(this.#error());
    else callback(null, chunk);
  }
}
