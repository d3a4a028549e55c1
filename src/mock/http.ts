/** node:http plumbing of the standalone mock, shared by its wire flavours. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MockOptions } from './options.js';
import { Pacer } from './sleep.js';

export function sendJson(res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves true on 'drain', false if the client goes away first (drain would never come). */
function drained(res: ServerResponse, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onAbort = (): void => done(false);
    res.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes and resolves once the data was handed to the socket (false on a write error). */
function flushed(res: ServerResponse, data: string): Promise<boolean> {
  return new Promise((resolve) => {
    res.write(data, (err) => resolve(err === undefined || err === null));
  });
}

export interface StreamStats {
  streamsStarted: number;
  streamsAborted: number;
}

/**
 * Writes pre-rendered SSE frames (each a complete event, blank line included) paced by
 * `tokensPerSecond`, then `trailer` (OpenAI's `data: [DONE]`; nothing for other flavours).
 * With `dropAfterChunks` the connection is cut after that many frames, with no trailer.
 * `life.closing` tells a cut made by the server's close() from a client that went away.
 */
export async function writeSse(
  res: ServerResponse,
  frames: readonly string[],
  trailer: string,
  knobs: MockOptions,
  signal: AbortSignal,
  stats: StreamStats,
  life: { readonly closing: boolean },
): Promise<void> {
  let dropped = false;
  res.once('close', () => {
    // writableFinished is set once end() flushed; a close before that is the client leaving.
    if (!res.writableFinished && !dropped && !life.closing) stats.streamsAborted++;
  });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders(); // the first byte goes out now, even when the first chunk is paced or dropped
  stats.streamsStarted++;
  const drop = knobs.dropAfterChunks;
  const pacer = new Pacer(knobs.tokensPerSecond);
  for (let i = 0; i < frames.length; i++) {
    if (drop !== null && i >= drop) break;
    if (!(await pacer.wait(i, signal))) return;
    const frame = frames[i]!;
    // With a drop configured, wait for each write to reach the socket so the cut lands exactly
    // after N chunks instead of discarding chunks still buffered in the process.
    const ok = drop === null ? res.write(frame) || (await drained(res, signal)) : await flushed(res, frame);
    if (!ok) return;
  }
  if (drop !== null) {
    dropped = true;
    res.destroy(); // abrupt: no terminating event
    return;
  }
  res.end(trailer);
}

/** `data: {json}` frames, as OpenAI and Gemini stream. */
export function dataFrames(objects: readonly unknown[]): string[] {
  return objects.map((o) => `data: ${JSON.stringify(o)}\n\n`);
}
