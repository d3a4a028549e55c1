/**
 * Sends one benchmark request and times it. Connections come from undici Pools (one per source
 * address), so thousands of concurrent requests reuse keep-alive sockets, and several loopback
 * source addresses multiply the ephemeral ports available when one address would run out.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { parseSse } from '../upstream/sse.js';
import { classifyError } from './errors.js';

export interface RequestTemplate {
  /** POST for model endpoints; any method for `--path` (an HTTP service's route). */
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  /** null sends no body (GET, HEAD). */
  body: string | null;
  stream: boolean;
  /** Longest wait for the response headers, and between two pieces of the body. */
  timeoutMs: number;
}

export type Outcome =
  | {
      ok: true;
      status: number;
      /** performance.now() when the headers arrived, and when the body ended. */
      headersAt: number;
      endedAt: number;
      /** Streams only: content tokens seen and when the first one arrived. */
      tokens: number;
      firstTokenAt: number | null;
      /** Streams only: the longest silence between two tokens, ms (0 with fewer than two). */
      maxGapMs: number;
    }
  | { ok: false; kind: string; message: string; endedAt: number };

/** Callbacks while a request runs: stream opening/closing and every inter-token gap. */
export interface RequestObserver {
  streamOpened(): void;
  streamClosed(): void;
  gap(ms: number): void;
}

export interface ClientOptions {
  /** Most connections in total, split evenly over the source addresses. */
  connections: number;
  /** Bind connections to these local addresses, round-robin; null lets the OS choose. */
  sourceAddresses: string[] | null;
}

export class LoadClient {
  readonly #pools: Pool[];
  #next = 0;
  #destroyed = false;

  constructor(origin: string, options: ClientOptions) {
    const sources = options.sourceAddresses ?? [null];
    const perPool = Math.max(1, Math.ceil(options.connections / sources.length));
    this.#pools = sources.map(
      (localAddress) =>
        new Pool(origin, {
          connections: perPool,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          ...(localAddress === null ? {} : { localAddress }),
        }),
    );
  }

  async send(t: RequestTemplate, observer: RequestObserver): Promise<Outcome> {
    const pool = this.#pools[this.#next] as Pool;
    this.#next = (this.#next + 1) % this.#pools.length;
    let res;
    try {
      res = await pool.request({ method: t.method, path: t.path, headers: t.headers, body: t.body, headersTimeout: t.timeoutMs, bodyTimeout: t.timeoutMs });
    } catch (err) {
      const { kind, message } = classifyError(err, null);
      return { ok: false, kind, message, endedAt: performance.now() };
    }
    const headersAt = performance.now();
    if (res.statusCode >= 400) {
      await drain(res.body);
      return { ok: false, kind: `http_${res.statusCode}`, message: `HTTP ${res.statusCode}`, endedAt: performance.now() };
    }
    const contentType = String(res.headers['content-type'] ?? '');
    if (t.stream) {
      if (!contentType.startsWith('text/event-stream')) {
        await drain(res.body);
        return { ok: false, kind: 'bad_response', message: `expected text/event-stream, got ${contentType || 'no content-type'}`, endedAt: performance.now() };
      }
      return readStream(res.statusCode, headersAt, res.body, observer);
    }
    try {
      await consume(res.body);
    } catch (err) {
      const { kind, message } = classifyError(err, 'body');
      return { ok: false, kind, message, endedAt: performance.now() };
    }
    return { ok: true, status: res.statusCode, headersAt, endedAt: performance.now(), tokens: 0, firstTokenAt: null, maxGapMs: 0 };
  }

  /** Closes every connection at once; requests still running fail (the runner calls them unfinished). */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    await Promise.all(this.#pools.map((p) => p.destroy().catch(() => undefined)));
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.close().catch(() => p.destroy())));
  }
}

/**
 * Reads a body to its end without keeping it, so the connection can be reused; its content is
 * not checked. Plain events rather than async iteration: cheaper per request, and the load
 * generator shares the machine with what it measures.
 */
function consume(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = false;
    body.on('data', noop);
    body.once('end', () => {
      ended = true;
      resolve();
    });
    body.once('error', reject);
    // A close before 'end' (and without 'error') means the body was cut off. The Error is only
    // built then: capturing a stack on every request showed as 12% of the generator's CPU.
    body.once('close', () => {
      if (!ended) reject(new Error('the body ended early'));
    });
  });
}

function noop(): void {}

async function drain(body: Readable): Promise<void> {
  try {
    await consume(body);
  } catch {
    // the status is the error being reported
  }
}

/** Reads an SSE body, timing tokens; a stream must end with [DONE] to count as complete. */
async function readStream(status: number, headersAt: number, body: AsyncIterable<Uint8Array>, observer: RequestObserver): Promise<Outcome> {
  observer.streamOpened();
  let tokens = 0;
  let firstTokenAt: number | null = null;
  let lastTokenAt = 0;
  let maxGapMs = 0;
  let done = false;
  try {
    for await (const ev of parseSse(body)) {
      if (ev.data === '[DONE]') {
        done = true;
        break;
      }
      if (ev.event === 'error' || ev.data.startsWith('{"error"')) {
        return { ok: false, kind: 'stream_error_event', message: ev.data.slice(0, 300), endedAt: performance.now() };
      }
      if (!carriesToken(ev.data)) continue;
      const now = performance.now();
      if (firstTokenAt === null) firstTokenAt = now;
      else {
        const gap = now - lastTokenAt;
        observer.gap(gap);
        if (gap > maxGapMs) maxGapMs = gap;
      }
      lastTokenAt = now;
      tokens++;
    }
  } catch (err) {
    const { kind, message } = classifyError(err, 'stream');
    return { ok: false, kind, message, endedAt: performance.now() };
  } finally {
    observer.streamClosed();
  }
  if (!done) return { ok: false, kind: 'stream_truncated', message: 'the stream ended without [DONE]', endedAt: performance.now() };
  return { ok: true, status, headersAt, endedAt: performance.now(), tokens, firstTokenAt, maxGapMs };
}

/** Whether a chunk carries generated text: a chat delta's content or a completion's text. */
export function carriesToken(data: string): boolean {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return false;
  }
  if (typeof chunk !== 'object' || chunk === null) return false;
  const choices = (chunk as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) return false;
  const first = choices[0] as { delta?: { content?: unknown }; text?: unknown } | null;
  const text = first?.delta?.content ?? first?.text;
  return typeof text === 'string' && text.length > 0;
}
