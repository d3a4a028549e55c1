import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { EventBus } from '../../src/observability/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { Guard } from '../../src/policies/guard.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { modelEndpoints } from '../../src/surfaces/endpoints.js';
import { Edge } from '../../src/edge/edge.js';
import { ConnectionGate } from '../../src/edge/connection-limits.js';
import { StreamSlots } from '../../src/surfaces/stream-limits.js';
import { FakeClock } from '../../src/lib/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** Sends a request head promising a 100 KB body, a few bytes of it, then drops the connection. */
async function abortUpload(gw: TestGateway, path: string): Promise<void> {
  const { port } = new URL(gw.url);
  const received = new Promise((resolve) => gw.gateway.app.server.once('request', resolve));
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"mock-1",`);
  // Once the gateway has the head (it answers nothing until the body is complete), the client gives up.
  await received;
  socket.destroy();
}

/** Polls the metrics text until `re` matches (the gateway records the abort when it sees the close). */
async function metricLine(url: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 2000; i++) {
    const text = await (await request(`${url}/metrics`)).body.text();
    const line = text.split('\n').find((l) => re.test(l));
    if (line !== undefined) return line;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no metric matches ${re}`);
}

describe('a client that aborts its upload is a 499, not a 500 (issue 15)', () => {
  let backend: http.Server;
  let gateways: TestGateway[];
  before(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as net.AddressInfo).port;
    gateways = [
      await startGateway({}),
      await startGateway({ server: { cors: { origins: ['http://example.test'] } } }),
      await startGateway({ services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: `http://127.0.0.1:${port}` }] }] }),
    ];
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    backend.closeAllConnections();
    await new Promise((resolve) => backend.close(resolve));
  });

  test('regression: an aborted upload was logged and counted as 500 SLUICE_ERR_INTERNAL; now 499 SLUICE_ERR_CLIENT_CLOSED at info', async () => {
    const [plain, withCors, services] = gateways as [TestGateway, TestGateway, TestGateway];
    for (const gw of [plain, withCors]) {
      await abortUpload(gw, '/v1/chat/completions');
      const line = await metricLine(gw.url, /^sluice_requests_total\{.*code="SLUICE_ERR_CLIENT_CLOSED"/);
      assert.match(line, /status="499"/);
    }
    await abortUpload(services, '/api/upload');
    assert.match(await metricLine(services.url, /^sluice_http_requests_total\{.*code="SLUICE_ERR_CLIENT_CLOSED"/), /status="499"/);
    for (const gw of gateways) {
      const text = await (await request(`${gw.url}/metrics`)).body.text();
      assert.ok(!/status="5\d\d"/.test(text), 'nothing counted as 5xx');
      assert.deepEqual(gw.logs.filter((l) => l.includes('"level":50')), [], 'no error lines');
      assert.ok(gw.logs.some((l) => l.includes('"level":30') && l.includes('SLUICE_ERR_CLIENT_CLOSED')), 'an info line says what happened');
    }
  });
});

describe('every 500 is logged with its cause and request id (issue 15)', () => {
  test('regression: a model request failing before its route ran was answered 500 with nothing in the log', async () => {
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString('utf8'));
        cb();
      },
    });
    const bus = new EventBus();
    const logger = createLogger('info', sink);
    const endpoints = modelEndpoints({
      pipelines: () => {
        throw new TypeError('the pipelines exploded');
      },
      routing: { region: null, regionHeader: 'x-sluice-region' },
      // Identification is not under test: everyone is anonymous.
      guard: { check: async () => ANONYMOUS } as unknown as Guard,
      bus,
      metrics: new Metrics(bus),
      now: () => 0,
      logger,
      streams: new StreamSlots({ streams: 10, streamsPerIp: 10 }),
      writing: { writeTimeoutMs: 30_000, clock: new FakeClock() },
    });
    // The edge alone: no control plane, no services.
    const edge = new Edge({ gate: new ConnectionGate({ connections: 100, connectionsPerIp: 100 }), routes: { endpoints, models: null, services: null }, cors: null, clientAddress: (req) => req.socket.remoteAddress ?? '', bodyLimit: 1 << 20, logger });
    const server = edge.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const res = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-500-logged' },
        body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.statusCode, 500);
      assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'SLUICE_ERR_INTERNAL');
      const line = logs.map((l) => JSON.parse(l) as { level: number; reqId?: string; err?: { message: string; stack: string } }).find((l) => l.level === 50);
      assert.ok(line, `an error line: ${logs.join('')}`);
      assert.equal(line.reqId, 'req-500-logged');
      assert.equal(line.err?.message, 'the pipelines exploded');
      assert.match(line.err?.stack ?? '', /TypeError/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
