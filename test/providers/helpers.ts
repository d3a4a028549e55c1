/** Shared helpers of the provider tests: fixtures, SSE, adapter calls and a scripted upstream. */
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Endpoint, JsonObject, ProviderCall, ProviderResponse, StreamResponse } from '../../src/providers/types.js';
import { parseSse, type SseEvent } from '../../src/upstream/sse.js';
import type { ChunkTranslator } from '../../src/providers/http/stream.js';

/** Fixtures are not compiled; they are read from the source tree next to dist/. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8');
}

export function fixtureJson(name: string): JsonObject {
  return JSON.parse(fixtureText(name)) as JsonObject;
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

export async function sseEvents(text: string): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const ev of parseSse(once(text))) out.push(ev);
  return out;
}

/** Feeds events to a translator as an adapter would; returns parsed chunks and what it threw. */
export async function translateAll(translator: ChunkTranslator, text: string): Promise<{ chunks: JsonObject[]; error: unknown }> {
  const chunks: JsonObject[] = [];
  try {
    for (const ev of await sseEvents(text)) for (const c of translator.push(ev)) chunks.push(JSON.parse(c) as JsonObject);
    for (const c of translator.end()) chunks.push(JSON.parse(c) as JsonObject);
  } catch (err) {
    return { chunks, error: err };
  }
  return { chunks, error: null };
}

export function call(o: { endpoint?: Endpoint; body: JsonObject; stream?: boolean; includeUsage?: boolean; signal?: AbortSignal }): ProviderCall {
  return {
    endpoint: o.endpoint ?? 'chat',
    body: o.stream === true ? { ...o.body, stream: true } : o.body,
    stream: o.stream ?? false,
    includeUsage: o.includeUsage ?? false,
    signal: o.signal ?? new AbortController().signal,
    bodyText: null,
    requestId: 'req-test',
    timeouts: null,
  };
}

export function asJson(r: ProviderResponse): JsonObject {
  if (r.kind !== 'json') throw new Error(`expected a JSON answer, got ${r.kind}`);
  return JSON.parse(r.body) as JsonObject;
}

/** Reads a stream to its end: the parsed chunks and the error iteration threw, if any. */
export async function collect(r: ProviderResponse): Promise<{ chunks: JsonObject[]; error: unknown; stream: StreamResponse }> {
  if (r.kind !== 'stream') throw new Error(`expected a stream, got ${r.kind}`);
  const chunks: JsonObject[] = [];
  try {
    for await (const c of r.chunks) chunks.push(JSON.parse(c) as JsonObject);
  } catch (err) {
    return { chunks, error: err, stream: r };
  }
  return { chunks, error: null, stream: r };
}

/** The text and tool calls a chunk sequence adds up to, as a client would reassemble them. */
export function reassemble(chunks: JsonObject[]): { text: string; finish: unknown; tools: { id: string; name: string; arguments: string }[] } {
  let text = '';
  let finish: unknown = null;
  const tools: { id: string; name: string; arguments: string }[] = [];
  for (const chunk of chunks) {
    for (const choice of (chunk.choices as JsonObject[] | undefined) ?? []) {
      const delta = choice.delta as JsonObject;
      if (typeof delta.content === 'string') text += delta.content;
      for (const tc of (delta.tool_calls as JsonObject[] | undefined) ?? []) {
        const i = tc.index as number;
        const fn = (tc.function ?? {}) as JsonObject;
        tools[i] ??= { id: '', name: '', arguments: '' };
        if (typeof tc.id === 'string') tools[i].id = tc.id;
        if (typeof fn.name === 'string') tools[i].name = fn.name;
        if (typeof fn.arguments === 'string') tools[i].arguments += fn.arguments;
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) finish = choice.finish_reason;
    }
  }
  return { text, finish, tools };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedUpstream {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A one-answer upstream on port 0: records each request and replies with the given status, headers and body. */
export async function scriptedUpstream(status: number, headers: Record<string, string>, body: string): Promise<ScriptedUpstream> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
