import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { toSluiceError, type SluiceError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { StreamResponse } from '../providers/types.js';
import type { StreamFraming } from './dialect.js';

export function sendError(reply: FastifyReply, err: SluiceError, body: unknown = err.toBody()): void {
  reply.code(err.status);
  if (err.headers !== null) reply.headers(err.headers);
  void reply.send(body);
}

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/**
 * Writes a stream to the client as SSE. The first chunk is awaited before the status line is
 * sent, so a stream that fails at once still gets a proper HTTP error. After that, a failure
 * ends the stream with an `error` event in the client's schema — never a silently cut 200.
 * Returns once the stream is over; `ctx` records how it ended.
 */
export async function pumpStream(ctx: RequestContext, reply: FastifyReply, stream: StreamResponse, framing: StreamFraming, now: () => number): Promise<void> {
  const iterator = stream.chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(stream.status, { ...sseHeaders, ...ctx.responseHeaders, 'x-request-id': ctx.id });
  ctx.status = stream.status;
  ctx.firstByteAt = now();
  try {
    let item = first;
    while (item.done !== true) {
      const frame = framing.chunk(item.value);
      if (frame !== '' && !res.write(frame)) await waitForDrain(res, ctx.controller.signal);
      item = await iterator.next();
    }
    ctx.usage = stream.usage();
    res.end(framing.end());
  } catch (err) {
    ctx.usage = stream.usage();
    if (ctx.clientGone) {
      res.destroy();
      return;
    }
    const e = ctx.abortedError() ?? toSluiceError(err);
    ctx.errorCode = e.code;
    res.end(framing.error(e, ctx));
  } finally {
    // Stops the upstream read if we left the loop early (client gone, write failure).
    await iterator.return?.().catch(() => {});
  }
}

async function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  await once(res, 'drain', { signal });
}
