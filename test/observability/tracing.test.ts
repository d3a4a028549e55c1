import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: OtlpValue }[];
  status: { code?: number };
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A stand-in OpenTelemetry collector: keeps every OTLP/HTTP JSON export it receives. */
async function startCollector(): Promise<{ url: string; exports: OtlpExport[]; close(): Promise<void> }> {
  const exports: OtlpExport[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      assert.equal(req.url, '/v1/traces');
      assert.match(String(req.headers['content-type']), /application\/json/);
      assert.equal(req.headers['x-collector-key'], 'collector-secret');
      exports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, exports, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const spansOf = (exports: OtlpExport[]): OtlpSpan[] => exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
const attr = (span: OtlpSpan, key: string): string | number | boolean | undefined => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? (v.intValue === undefined ? v.boolValue : Number(v.intValue)));
};

const chat = async (url: string, model: string, headers: Record<string, string> = {}): Promise<number> => (await req.chat(url, { model, messages: [{ role: 'user', content: 'hello' }] }, { headers })).status;

const config = (endpoint: string, sampleRate: number): Record<string, unknown> => ({
  tracing: { endpoint, sampleRate, serviceName: 'sluice-test', headers: { 'x-collector-key': 'collector-secret' } },
  providers: { bad: { type: 'mock', status: 503 }, good: { type: 'mock' } },
  routes: [{ match: 'm', strategy: 'failover', retry: { backoffBase: '1ms', backoffMax: '1ms' }, targets: [{ provider: 'bad' }, { provider: 'good' }] }],
});

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  before(async () => {
    collector = await startCollector();
  });
  after(() => collector.close());

  test('a span per request, and under it one per upstream attempt; a caller\'s traceparent is the parent', async () => {
    const gw = await startGateway(config(collector.url, 1));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    try {
      assert.equal(await chat(gw.url, 'm', { traceparent: `00-${traceId}-${callerSpan}-01` }), 200);
    } finally {
      await gw.close(); // flushes the batch
    }
    assert.equal(collector.exports[0]?.resourceSpans[0]?.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue, 'sluice-test');
    const spans = spansOf(collector.exports);
    const server = spans.filter((s) => s.kind === 2);
    const clients = spans.filter((s) => s.kind === 3);
    assert.equal(server.length, 1);
    assert.equal(clients.length, 2, 'the failed attempt and the retry that answered');
    const root = server[0]!;
    assert.equal(root.traceId, traceId);
    assert.equal(root.parentSpanId, callerSpan);
    assert.equal(root.name, 'chat m');
    assert.equal(attr(root, 'sluice.route'), 'm');
    assert.equal(attr(root, 'http.response.status_code'), 200);
    assert.equal(attr(root, 'sluice.retries'), 1);
    assert.ok(Number(attr(root, 'gen_ai.usage.output_tokens')) > 0);
    const [failed, answered] = clients.sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    for (const c of [failed!, answered!]) {
      assert.equal(c.traceId, traceId);
      assert.equal(c.parentSpanId, root.spanId);
      assert.ok(BigInt(c.startTimeUnixNano) >= BigInt(root.startTimeUnixNano) && BigInt(c.endTimeUnixNano) <= BigInt(root.endTimeUnixNano), 'attempts lie within the request');
    }
    assert.equal(attr(failed!, 'gen_ai.provider.name'), 'bad');
    assert.equal(attr(failed!, 'error.type'), 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.equal(attr(failed!, 'http.response.status_code'), 503);
    assert.equal(failed!.status.code, 2, 'error status');
    assert.equal(attr(answered!, 'gen_ai.provider.name'), 'good');
    assert.equal(attr(answered!, 'error.type'), undefined);
    assert.ok(!JSON.stringify(collector.exports).includes('collector-secret'));
  });

  test('sampleRate 0 starts no traces of its own but follows a caller that samples', async () => {
    collector.exports.length = 0;
    const gw = await startGateway(config(collector.url, 0));
    try {
      assert.equal(await chat(gw.url, 'm'), 200);
      assert.equal(await chat(gw.url, 'm', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }), 200);
    } finally {
      await gw.close();
    }
    const traces = new Set(spansOf(collector.exports).map((s) => s.traceId));
    assert.deepEqual([...traces], ['0af7651916cd43dd8448eb211c80319c']);
  });
});
