/**
 * The standalone mock upstream: an HTTP server over the mock engine that speaks OpenAI's wire
 * format (and Azure OpenAI's paths), Anthropic's Messages API and Gemini's generateContent,
 * with the same fault and pacing knobs for all. It is the benchmark's upstream too, so it runs
 * on raw node:http with keep-alive and no framework, and does as little per request as the
 * engine allows. Each flavour lives in its own module; this one routes and injects faults.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../providers/types.js';
import { anthropicRoute } from './anthropic.js';
import { MockEngine, openAiError } from './engine.js';
import type { MockRoute } from './flavour.js';
import { geminiRoute } from './gemini.js';
import { readBody, sendJson, writeSse } from './http.js';
import { openAIRoute } from './openai-flavour.js';
import { responsesRoute } from './responses.js';
import { defaultMockOptions, type MockOptions } from './options.js';
import { sleep } from './sleep.js';

export interface MockServerStats {
  /** Requests to generation endpoints (any flavour), including those answered with a fault. */
  requests: number;
  /** Streams whose 200 and SSE headers were sent. */
  streamsStarted: number;
  /** Streams whose client closed the connection before the stream finished. */
  streamsAborted: number;
}

export interface MockServer {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1` (OpenAI and Anthropic flavours). */
  readonly url: string;
  /** Scheme, host and port, e.g. `http://127.0.0.1:PORT` (Gemini is under `/v1beta`, Azure under `/openai`). */
  readonly origin: string;
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

/** The generation endpoint a POST addresses, in whichever flavour; null for none. */
function route(path: string, query: URLSearchParams): MockRoute | null {
  return openAIRoute(path, query) ?? anthropicRoute(path) ?? geminiRoute(path, query) ?? responsesRoute(path);
}

export async function startMockServer(opts: MockServerOptions = {}): Promise<MockServer> {
  const host = opts.host ?? '127.0.0.1';
  let options: MockOptions = { ...defaultMockOptions, ...opts.options };
  let engine = new MockEngine(options);
  const stats: MockServerStats = { requests: 0, streamsStarted: 0, streamsAborted: 0 };
  const life = { closing: false }; // streams cut by close() are the server's doing, not aborted by clients

  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    // Any failure here is a broken connection (client gone mid-body); there is no one to answer.
    handle(req, res).catch(() => res.destroy());
  });
  // Long keep-alive so benchmark clients reuse connections instead of racing the 5 s default.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, MODELS);
    const target = req.method === 'POST' ? route(path, new URLSearchParams(search)) : null;
    if (target === null) {
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
      return sendJson(res, 400, target.invalidBody());
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
      return sendJson(res, fault.status, target.faultBody(current, fault.status), headers);
    }
    const answer = target.answer(current, body);
    if (answer.kind === 'json') return sendJson(res, answer.status, answer.body);
    await writeSse(res, answer.frames, answer.trailer, knobs, gone.signal, stats, life);
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
    origin: `http://${urlHost}:${port}`,
    port,
    stats,
    configure(partial: Partial<MockOptions>): void {
      options = { ...options, ...partial };
      engine = new MockEngine(options);
    },
    close(): Promise<void> {
      life.closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
