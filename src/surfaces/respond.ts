import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SluiceError, toSluiceError } from '../errors.js';
import type { RequestContext } from '../exchange/context.js';
import type { StreamResponse } from '../providers/types.js';
import type { StreamFraming } from './dialect.js';
import type { Clock } from '../lib/clock.js';
import type { CancelSignal } from '../lib/cancel.js';
import type { Principal } from '../exchange/principal.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * docs/errors.md promises that every 500 is in the log with its cause under the request id:
 * the request line says only the code. The cause (the error that was not a SluiceError) is
 * logged as `err`, with its stack.
 */
export function logInternal(logger: Logger, err: SluiceError, requestId: string): void {
  if (err.code === 'SLUICE_ERR_INTERNAL') logger.error({ err: err.cause ?? err, reqId: requestId }, 'internal error');
}

/** What a client that went away is recorded as (never sent: no one is listening), as nginx's 499. */
export function clientClosed(): SluiceError {
  return new SluiceError('SLUICE_ERR_CLIENT_CLOSED');
}

/** Response headers set before a handler ran, as fastify's `reply.getHeaders()` gives them. */
export type BaseHeaders = Readonly<Record<string, string | number | string[] | undefined>>;

/**
 * One model request as the edge (edge/edge.ts) hands it to its endpoint: read, parsed and
 * identified by its request id and client address. Answers are written on the raw response.
 */
export interface ModelExchange {
  readonly id: string;
  /** The client's address (after trusted proxies). */
  readonly ip: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  readonly body: unknown;
  /** The JSON text `body` was parsed from (a leading BOM removed), when known. */
  readonly text: string | null;
  readonly res: ServerResponse;
  /** Headers every answer carries (CORS, when on); null without. */
  readonly base: BaseHeaders | null;
  /**
   * A line of a batch (issue 21), run in the process: who it runs as (the batch's principal,
   * so the guard is not asked), its admission priority, and the batch id its usage record carries.
   */
  readonly batch?: { readonly id: string; readonly principal: Principal; readonly priority: number };
}

/**
 * Writes a complete JSON answer on the raw response: `base` first (headers set before the
 * handler ran, such as CORS), then `extra` (rate limit state, cache status …). The request id
 * and the entity headers always win.
 */
export function writeJson(res: ServerResponse, status: number, text: string, requestId: string, base: BaseHeaders | null, extra: Readonly<Record<string, string>> | null): void {
  const headers: Record<string, string | number | string[] | undefined> = base === null && extra === null ? {} : { ...base, ...extra };
  headers['x-request-id'] = requestId;
  headers['content-type'] = JSON_TYPE;
  headers['content-length'] = Buffer.byteLength(text);
  res.writeHead(status, headers as OutgoingHttpHeaders);
  res.end(text);
}

/** An error answer on the raw response, in the body shape given (the client's dialect). */
export function writeErrorBody(res: ServerResponse, err: SluiceError, body: unknown, requestId: string, base: BaseHeaders | null, extra: Readonly<Record<string, string>> | null): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, err.status, JSON.stringify(body), requestId, base, err.headers === null ? extra : { ...extra, ...err.headers });
}

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** How streams are written: how long a client that takes no bytes is waited for. */
export interface StreamWriting {
  readonly writeTimeoutMs: number;
  readonly clock: Clock;
}

/**
 * Writes a stream to the client as SSE. The first chunk is awaited before the status line is
 * sent, so a stream that fails at once still gets a proper HTTP error. After that, a failure
 * ends the stream with an `error` event in the client's schema — never a silently cut 200.
 * Returns once the stream is over; `ctx` records how it ended.
 *
 * The upstream is read only as fast as the client takes the frames (backpressure), so a client
 * that stops reading holds its upstream connection. One whose buffers stay full for
 * `writeTimeoutMs` is cut off (SLUICE_ERR_CLIENT_TOO_SLOW): its socket is closed and its
 * upstream call cancelled, which gives the connection back to the pool (issue 15).
 */
export async function pumpStream(ctx: RequestContext, res: ServerResponse, base: BaseHeaders | null, stream: StreamResponse, framing: StreamFraming, now: () => number, logger: Logger, writing: StreamWriting, beforeEnd?: (ctx: RequestContext) => Promise<void>): Promise<void> {
  const iterator = stream.chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  res.writeHead(stream.status, { ...base, ...sseHeaders, ...ctx.responseHeaders, 'x-request-id': ctx.id } as OutgoingHttpHeaders);
  ctx.status = stream.status;
  ctx.firstByteAt = now();
  try {
    let item = first;
    while (item.done !== true) {
      const frame = framing.chunk(item.value);
      if (frame !== '' && !res.write(frame) && !(await drained(res, ctx.controller, writing))) {
        ctx.usage = stream.usage();
        ctx.errorCode = 'SLUICE_ERR_CLIENT_TOO_SLOW';
        res.destroy();
        return;
      }
      item = await iterator.next();
    }
    ctx.usage = stream.usage();
    // The usage record goes on record before the client has the whole answer (issue 15).
    if (beforeEnd !== undefined) await beforeEnd(ctx);
    res.end(framing.end());
  } catch (err) {
    ctx.usage = stream.usage();
    if (ctx.clientGone) {
      res.destroy();
      return;
    }
    const e = ctx.abortedError() ?? toSluiceError(err);
    ctx.errorCode = e.code;
    logInternal(logger, e, ctx.id);
    if (beforeEnd !== undefined) await beforeEnd(ctx);
    res.end(framing.error(e, ctx));
  } finally {
    // Stops the upstream read if we left the loop early (client gone, write failure).
    await iterator.return?.().catch(() => {});
  }
}

/**
 * Waits until the client has taken the buffered frames: true then, false when it took them
 * not within the write timeout. Rejects with the signal's reason when the exchange is aborted
 * (client gone, total timeout). Only a stalled client gets here, so its closures cost nothing
 * on the common path.
 */
function drained(res: ServerResponse, signal: CancelSignal, writing: StreamWriting): Promise<boolean> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      writing.clock.clearTimer(timer);
      res.removeListener('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
    };
    const onDrain = (): void => {
      done();
      resolve(true);
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason as Error);
    };
    const timer = writing.clock.setTimer(() => {
      done();
      resolve(false);
    }, writing.writeTimeoutMs);
    res.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
