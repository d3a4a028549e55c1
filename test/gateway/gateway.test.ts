import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { admits } from '../../src/gateway/build.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { createLogger } from '../../src/observability/logger.js';

const compile = (raw: Record<string, unknown>) => compileConfig(validateConfig({ usage: { enabled: false }, ...raw }, 'test', {}), 'test');
const quiet = () => createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));

describe('one way in: fastify sees only the control plane (issue 17)', () => {
  let mock: MockServer;
  let backend: Server;
  let gateway: Gateway;
  let url: string;
  const seen: string[] = [];

  before(async () => {
    mock = await startMockServer({ port: 0 });
    backend = createServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    gateway = await Gateway.create(
      compile({
        server: { host: '127.0.0.1', port: 0, cors: { origins: ['https://app.example.com'] } },
        providers: { mock: { type: 'openai', baseUrl: mock.url } },
        routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
        services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: `http://127.0.0.1:${port}` }] }],
      }),
      { logger: quiet() },
    );
    // Every request fastify routes passes its onRequest hooks: record them.
    gateway.app.addHook('onRequest', (req, _reply, done) => {
      seen.push(`${req.method} ${req.url}`);
      done();
    });
    url = (await gateway.listen()).url;
  });

  after(async () => {
    await gateway.shutdown(1000);
    await mock.close();
    backend.closeAllConnections();
    await new Promise((resolve) => backend.close(resolve));
  });

  test('model, model list, service and preflight requests are answered without fastify; health and unknown paths by it', async () => {
    const origin = { origin: 'https://app.example.com' };
    const answers = [
      await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...origin }, body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }) }),
      await request(`${url}/v1/models`, { headers: origin }),
      await request(`${url}/api/x`, { headers: origin }),
      await request(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST' } }),
    ];
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [200, 200, 200, 204],
    );
    for (const a of answers) await a.body.dump();
    assert.deepEqual(seen, []);
    const health = await request(`${url}/health`);
    await health.body.dump();
    const unknown = await request(`${url}/nowhere`);
    await unknown.body.dump();
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(seen, ['GET /health', 'GET /nowhere']);
  });
});

describe('admits(): the admit stage is built only when something could be limited', () => {
  const base = { providers: { mock: { type: 'mock' } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }] };

  test('nothing limited: no admit stage anywhere', () => {
    assert.equal(admits(compile(base)), false);
  });

  test('route limits, tier limits, service limits or admin tokens each bring it in', () => {
    assert.equal(admits(compile({ ...base, routes: [{ match: '*', targets: [{ provider: 'mock' }], limits: { rpm: 10 } }] })), true);
    assert.equal(admits(compile({ ...base, tiers: { free: { limits: { rpm: 10 } } } })), true);
    assert.equal(admits(compile({ ...base, services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: 'http://127.0.0.1:1' }], limits: { rpm: 10 } }] })), true);
    assert.equal(admits(compile({ ...base, admin: { tokens: ['t'.repeat(32)] } })), true);
  });
});
