/**
 * The standalone mock upstream: an OpenAI-compatible HTTP server over the mock engine. It is
 * the benchmark's upstream too, so it runs on raw node:http with keep-alive and no framework,
 * and does as little per request as the engine allows.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../providers/types.js';
import { MockEngine, openAiError } from './engine.js';
import { defaultMockOptions, type MockOptions } from './options.js';
import { Pacer, sleep } from './sleep.js';

export interface MockServerStats {
  /** Requests to the three generation endpoints, including those answered with a fault. */
  requests: number;
  /** Streams whose 200 and SSE headers were sent. */
  streamsStarted: number;
  /** Streams whose client closed the connection before the stream finished. */
  streamsAborted: number;
}

export interface MockServer {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly port: number;
  readonly stats: MockServerStats;
  /** Replaces the fault and pacing knobs for later requests (the fault PRNG restarts). */
  configure(options: Partial<MockOptions>): void;
  /** Stops listening and closes every connection, open streams included. */
  close(): Promise<void>;
}

export interface MockServerOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  options?: Partial<MockOptions>;
}

const MODELS = { object: 'list', data: [{ id: 'mock-1', object: 'model', created: 1700000000, owned_by: 'sluice' }] };
const GENERATION_PATHS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']);

export async function startMockServer(opts: MockServerOptions = {}): Promise<MockServer> {
  const host = opts.host ?? '127.0.0.1';
  let options: MockOptions = { ...defaultMockOptions, ...opts.options };
  let engine = new MockEngine(options);
  const stats: MockServerStats = { requests: 0, streamsStarted: 0, streamsAborted: 0 };
  let closing = false; // streams cut by close() are the server's doing, not aborted by clients

  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    // Any failure here is a broken connection (client gone mid-body); there is no one to answer.
    handle(req, res).catch(() => res.destroy());
  });
  // Long keep-alive so benchmark clients reuse connections instead of racing the 5 s default.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, MODELS);
    if (req.method !== 'POST' || !GENERATION_PATHS.has(path)) {
      return sendJson(res, 404, openAiError(`Invalid URL (${req.method ?? '?'} ${path})`, 'invalid_request_error', 'unknown_url'));
    }
    stats.requests++;
    const text = await readBody(req);
    let body: JsonObject;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as JsonObject;
    } catch {
      return sendJson(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'));
    }

    // Aborted when the connection closes, so latency and pacing timers stop with the client.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const current = engine;
    const knobs = options;
    if (!(await sleep(knobs.latencyMs, gone.signal))) return;

    const fault = current.nextFault();
    if (fault !== null) {
      const headers: Record<string, string> = fault.retryAfter === null ? {} : { 'retry-after': String(fault.retryAfter) };
      return sendJson(res, fault.status, current.errorBody(fault.status), headers);
    }
    if (path === '/v1/embeddings') return sendJson(res, 200, current.embeddings(body));
    const isChat = path === '/v1/chat/completions';
    if (body.stream !== true) return sendJson(res, 200, isChat ? current.chatCompletion(body) : current.completion(body));
    const so = body.stream_options;
    const includeUsage = typeof so === 'object' && so !== null && (so as JsonObject).include_usage === true;
    const chunks: object[] = isChat ? current.chatChunks(body, includeUsage) : current.completionChunks(body, includeUsage);
    await writeStream(res, chunks, knobs, gone.signal);
  }

  async function writeStream(res: ServerResponse, chunks: object[], knobs: MockOptions, signal: AbortSignal): Promise<void> {
    let dropped = false;
    res.once('close', () => {
      // writableFinished is set once end() flushed; a close before that is the client leaving.
      if (!res.writableFinished && !dropped && !closing) stats.streamsAborted++;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders(); // the first byte goes out now, even when the first chunk is paced or dropped
    stats.streamsStarted++;
    const drop = knobs.dropAfterChunks;
    const pacer = new Pacer(knobs.tokensPerSecond);
    for (let i = 0; i < chunks.length; i++) {
      if (drop !== null && i >= drop) break;
      if (!(await pacer.wait(i, signal))) return;
      const line = `data: ${JSON.stringify(chunks[i])}\n\n`;
      // With a drop configured, wait for each write to reach the socket so the cut lands exactly
      // after N chunks instead of discarding chunks still buffered in the process.
      const ok = drop === null ? res.write(line) || (await drained(res, signal)) : await flushed(res, line);
      if (!ok) return;
    }
    if (drop !== null) {
      dropped = true;
      res.destroy(); // abrupt: no terminating chunk, no [DONE]
      return;
    }
    res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    stats,
    configure(partial: Partial<MockOptions>): void {
      options = { ...options, ...partial };
      engine = new MockEngine(options);
    },
    close(): Promise<void> {
      closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function sendJson(res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
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
