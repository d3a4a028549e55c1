import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_REQUEST_ID_LENGTH } from '../../src/edge/request-id.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { HeldUpstream, waitFor } from '../helpers/wait.js';

/**
 * The edge (edge/edge.ts) is the one way in for model, service and upgrade requests (issue 17).
 * These cases are what the differential test between the old fast path and fastify's routes
 * covered, now asserted on the one path: each answer's status, error code and shape, request
 * id and headers, with CORS off and on (CORS used to switch model requests to fastify).
 */
const BODY_LIMIT = 4096;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  requestId: string | undefined;
  body: string;
}

async function send(url: string, path: string, init: { method?: 'POST' | 'GET' | 'HEAD' | 'OPTIONS'; body?: string | Readable | undefined; headers?: Record<string, string> }): Promise<Answer> {
  const method = init.method ?? 'POST';
  const res = await request(`${url}${path}`, { method, ...(method === 'POST' ? { body: init.body ?? '' } : {}), headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...init.headers } });
  const body = await res.body.text();
  const id = res.headers['x-request-id'];
  return { status: res.statusCode, headers: res.headers, requestId: typeof id === 'string' ? id : undefined, body };
}

function errorCode(a: Answer): string | undefined {
  const b = JSON.parse(a.body) as { error?: { code?: string; type?: string } };
  return b.error?.code ?? b.error?.type;
}

/** A body without Content-Length, sent chunked. */
const chunked = (parts: string[]): Readable => Readable.from(parts.map((p) => Buffer.from(p)));

const chat = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const cors of [false, true]) {
  describe(`the edge answers model requests (CORS ${cors ? 'on' : 'off'})`, () => {
    let mock: MockServer;
    let gw: TestGateway;
    const ORIGIN = 'https://app.example.com';

    before(async () => {
      mock = await startMockServer({ port: 0 });
      gw = await startGateway({
        server: { bodyLimit: BODY_LIMIT, trustProxy: true, cors: { origins: cors ? [ORIGIN] : [] } },
        limits: { ip: { rpm: 3 } },
        providers: { mock: { type: 'openai', baseUrl: mock.url } },
        routes: [{ match: 'gpt-*', targets: [{ provider: 'mock' }] }],
      });
    });

    after(async () => {
      await gw.close();
      await mock.close();
    });

    // Each case from its own client address (x-forwarded-for, trusted), under the IP limit of 3 a minute.
    let client = 0;
    const cases: [string, string, { body?: string | (() => Readable); headers?: Record<string, string> }, number, string | null][] = [
      ['a chat completion', '/v1/chat/completions', { body: chat }, 200, null],
      ['a stream', '/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }) }, 200, null],
      ['a query string', '/v1/chat/completions?trace=1', { body: chat }, 200, null],
      ['a charset parameter', '/v1/chat/completions', { body: chat, headers: { 'content-type': 'application/json; charset=utf-8' } }, 200, null],
      ['a JSON body posted as a form (curl -d)', '/v1/chat/completions', { body: chat, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 200, null],
      ['a body posted as text/plain is text, not a JSON object', '/v1/chat/completions', { body: chat, headers: { 'content-type': 'text/plain; charset=utf-8' } }, 400, 'SLUICE_ERR_INVALID_REQUEST'],
      ['embeddings', '/v1/embeddings', { body: JSON.stringify({ model: 'gpt-emb', input: 'x' }) }, 200, null],
      ['a body sent in chunks', '/v1/chat/completions', { body: () => chunked([chat.slice(0, 10), chat.slice(10)]) }, 200, null],
      ['invalid JSON', '/v1/chat/completions', { body: '{"model":' }, 400, 'SLUICE_ERR_INVALID_JSON'],
      ['an empty body', '/v1/chat/completions', { body: '' }, 400, 'SLUICE_ERR_INVALID_JSON'],
      ['a __proto__ key', '/v1/chat/completions', { body: '{"model":"gpt-4o","__proto__":{"x":1},"messages":[]}' }, 400, 'SLUICE_ERR_INVALID_JSON'],
      ['nesting deeper than the limit', '/v1/chat/completions', { body: `${'['.repeat(200)}${']'.repeat(200)}` }, 400, 'SLUICE_ERR_JSON_TOO_DEEP'],
      ['a body of the wrong shape', '/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4o', messages: [] }) }, 400, 'SLUICE_ERR_INVALID_REQUEST'],
      ['a JSON array', '/v1/completions', { body: '[1,2]' }, 400, 'SLUICE_ERR_INVALID_REQUEST'],
      ['an unrouted model', '/v1/chat/completions', { body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }) }, 404, 'SLUICE_ERR_MODEL_NOT_FOUND'],
      ['a declared length over the limit', '/v1/chat/completions', { body: 'x'.repeat(BODY_LIMIT + 1) }, 413, 'SLUICE_ERR_BODY_TOO_LARGE'],
      ['a chunked body growing over the limit', '/v1/chat/completions', { body: () => chunked(['{"a":"', 'x'.repeat(BODY_LIMIT), '"}']) }, 413, 'SLUICE_ERR_BODY_TOO_LARGE'],
      ['invalid JSON on /v1/messages (Anthropic error shape)', '/v1/messages', { body: '{' }, 400, 'SLUICE_ERR_INVALID_JSON'],
      ['a bad Anthropic body', '/v1/messages', { body: JSON.stringify({ model: 'gpt-4o' }) }, 400, 'SLUICE_ERR_INVALID_REQUEST'],
    ];
    for (const [name, path, init, status, code] of cases) {
      test(name, async () => {
        client++;
        const headers = { 'x-forwarded-for': `203.0.113.${client}`, ...(cors ? { origin: ORIGIN } : {}), ...init.headers };
        const a = await send(gw.url, path, { body: typeof init.body === 'function' ? init.body() : init.body, headers });
        assert.equal(a.status, status, a.body);
        assert.match(a.requestId ?? '', UUID);
        if (code !== null) {
          assert.equal(errorCode(a), code, a.body);
          assert.match(String(a.headers['content-type']), /^application\/json/);
        }
        if (path === '/v1/messages') assert.equal((JSON.parse(a.body) as { type: string }).type, 'error', 'Anthropic error shape');
        assert.equal(a.headers['access-control-allow-origin'], cors ? ORIGIN : undefined);
        if (cors) assert.match(String(a.headers['access-control-expose-headers']), /x-request-id/);
      });
    }

    test('the client request id is echoed up to 200 characters; a longer one is replaced', async () => {
      const ok = 'r'.repeat(MAX_REQUEST_ID_LENGTH);
      const a = await send(gw.url, '/v1/chat/completions', { body: '{', headers: { 'x-request-id': ok, 'x-forwarded-for': '192.0.2.10' } });
      assert.equal(a.requestId, ok);
      const b = await send(gw.url, '/v1/chat/completions', { body: '{', headers: { 'x-request-id': `${ok}r`, 'x-forwarded-for': '192.0.2.11' } });
      assert.match(b.requestId ?? '', UUID);
      // The same rule on the control plane and for unknown paths.
      const c = await send(gw.url, '/health', { method: 'GET', headers: { 'x-request-id': `${ok}r` } });
      assert.match(c.requestId ?? '', UUID);
      const d = await send(gw.url, '/health', { method: 'GET', headers: { 'x-request-id': 'ctl-1' } });
      assert.equal(d.requestId, 'ctl-1');
    });

    test('the client address comes from trusted forwarding headers: the IP limit counts per forwarded client', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.7' } })).status);
      const other = await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.8' } });
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(other.status, 200);
    });

    test('unknown paths, other methods and a trailing slash get the catalog 404', async () => {
      for (const [method, path] of [
        ['GET', '/v1/chat/completions'],
        ['POST', '/v1/chat/completions/'],
        ['POST', '/v1/models'],
        ['GET', '/nowhere'],
      ] as const) {
        const a = await send(gw.url, path, { method, body: chat, headers: { 'x-forwarded-for': '192.0.2.20' } });
        assert.equal(a.status, 404, `${method} ${path}`);
        const body = JSON.parse(a.body) as { error: { code: string; message: string; type: string } };
        assert.equal(body.error.code, 'SLUICE_ERR_NOT_FOUND');
        assert.equal(body.error.message, `No such endpoint: ${method} ${path}.`);
        assert.match(a.requestId ?? '', UUID);
      }
    });

    test('GET and HEAD /v1/models are served by the edge', async () => {
      const get = await send(gw.url, '/v1/models', { method: 'GET', headers: { 'x-forwarded-for': '192.0.2.30', ...(cors ? { origin: ORIGIN } : {}) } });
      assert.equal(get.status, 200);
      assert.equal((JSON.parse(get.body) as { object: string }).object, 'list');
      assert.equal(get.headers['access-control-allow-origin'], cors ? ORIGIN : undefined);
      const head = await send(gw.url, '/v1/models', { method: 'HEAD', headers: { 'x-forwarded-for': '192.0.2.31' } });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
    });

    if (cors) {
      test('preflights are answered 204 on the edge; other origins get no allow-origin; an OPTIONS without its headers is 400', async () => {
        const ok = await send(gw.url, '/v1/chat/completions', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
        assert.equal(ok.status, 204);
        assert.equal(ok.headers['access-control-allow-origin'], ORIGIN);
        assert.equal(ok.headers['access-control-allow-headers'], 'authorization,content-type');
        assert.equal(ok.headers['access-control-allow-methods'], 'GET,HEAD,POST');
        assert.equal(ok.headers['access-control-max-age'], '600');
        assert.match(String(ok.headers.vary), /Origin/);
        const other = await send(gw.url, '/v1/chat/completions', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
        assert.equal(other.status, 204);
        assert.equal(other.headers['access-control-allow-origin'], undefined);
        const bare = await send(gw.url, '/v1/chat/completions', { method: 'OPTIONS' });
        assert.equal(bare.status, 400);
        assert.equal(bare.body, 'Invalid Preflight Request');
      });
    }
  });
}

test('while draining, a request on a connection still open gets 503 SLUICE_ERR_SHUTTING_DOWN and Connection: close', async () => {
  // The first request is held upstream until the gateway is draining and the second one is on
  // the wire: the order is made, not hoped for.
  const upstream = await new HeldUpstream().start();
  const gw = await startGateway({ providers: { mock: { type: 'openai', baseUrl: `${upstream.url}/v1` } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }] });
  try {
    const { port } = new URL(gw.url);
    const socket = connect(Number(port), '127.0.0.1');
    const one = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(chat)}\r\n\r\n${chat}`;
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // A second request pipelined on the busy connection once the gateway is draining.
    socket.write(one);
    await waitFor(() => upstream.held === 1, 'the first request to reach the upstream');
    const stopping = gw.gateway.shutdown(5000);
    assert.equal(gw.gateway.draining, true);
    socket.write(one);
    upstream.release();
    await closed;
    await stopping;
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^HTTP\/1\.1 200/);
    assert.match(answers[1]!, /^HTTP\/1\.1 503/);
    assert.match(answers[1]!, /connection: close/i);
    assert.match(answers[1]!, /x-request-id: [0-9a-f-]{36}/i);
    assert.match(answers[1]!, /SLUICE_ERR_SHUTTING_DOWN/);
  } finally {
    upstream.releaseAll();
    await upstream.stop();
  }
});

describe('the edge takes the client address under every trustProxy form', () => {
  let mock: MockServer;
  before(async () => {
    mock = await startMockServer({ port: 0 });
  });
  after(async () => {
    await mock.close();
  });

  // Whether a request forwarded for another client counts as that client (true) or as the
  // loopback peer that sent it (false).
  const forms: [string, boolean | number | string[], boolean][] = [
    ['false: the socket peer', false, false],
    ['a hop count', 1, true],
    ['a list holding the peer', ['127.0.0.0/8'], true],
    ['a named range holding the peer', ['loopback'], true],
    ['a list without the peer', ['10.0.0.0/8'], false],
  ];
  for (const [name, trustProxy, forwarded] of forms) {
    test(name, async () => {
      const gw = await startGateway({
        server: { trustProxy },
        limits: { ip: { rpm: 2 } },
        providers: { mock: { type: 'openai', baseUrl: mock.url } },
        routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.7' } })).status);
        const other = await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.8' } });
        assert.deepEqual([...statuses, other.status], [200, 200, 429, forwarded ? 200 : 429]);
      } finally {
        await gw.close();
      }
    });
  }
});

describe('service requests and upgrades come in through the same edge', () => {
  let backend: Server;
  let gw: TestGateway;
  let bare: TestGateway;
  const seen: { id: string | undefined; xff: string | undefined }[] = [];

  before(async () => {
    backend = createServer((req, res) => {
      const id = req.headers['x-request-id'];
      const xff = req.headers['x-forwarded-for'];
      seen.push({ id: typeof id === 'string' ? id : undefined, xff: typeof xff === 'string' ? xff : undefined });
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    gw = await startGateway({ server: { trustProxy: ['loopback'] }, services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: `http://127.0.0.1:${port}` }] }] });
    bare = await startGateway({});
  });
  after(async () => {
    await gw.close();
    await bare.close();
    backend.closeAllConnections();
    await new Promise((resolve) => backend.close(resolve));
  });

  test('the request id rule is the same for services: echoed up to 200 characters, else a new UUID sent upstream too', async () => {
    const ok = 's'.repeat(MAX_REQUEST_ID_LENGTH);
    const a = await send(gw.url, '/api/x', { method: 'GET', headers: { 'x-request-id': ok } });
    assert.equal(a.status, 200);
    assert.equal(a.requestId, ok);
    assert.equal(seen.at(-1)?.id, ok);
    const b = await send(gw.url, '/api/x', { method: 'GET', headers: { 'x-request-id': `${ok}s` } });
    assert.match(b.requestId ?? '', UUID);
    assert.equal(seen.at(-1)?.id, b.requestId);
  });

  test('a trusted proxy peer (loopback) has its X-Forwarded-For extended, not replaced', async () => {
    await send(gw.url, '/api/x', { method: 'GET', headers: { 'x-forwarded-for': '198.51.100.7' } });
    assert.equal(seen.at(-1)?.xff, '198.51.100.7, 127.0.0.1');
  });

  test('an upgrade nothing takes is refused with the catalog 404 and a request id, with services and without', async () => {
    for (const g of [gw, bare]) {
      const { port } = new URL(g.url);
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nx-request-id: up-1\r\n\r\n');
      await closed;
      assert.match(text, /^HTTP\/1\.1 404/);
      assert.match(text, /x-request-id: up-1/);
      assert.match(text, /SLUICE_ERR_NOT_FOUND/);
    }
  });
});

test('regression: an upgrade behind a trusted proxy was limited as the proxy; now as the forwarded client', async () => {
  const echo = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => echo.once('listening', () => resolve()));
  const port = (echo.address() as AddressInfo).port;
  const gw = await startGateway({
    server: { trustProxy: ['loopback'] },
    services: [{ name: 'ws', match: { pathPrefix: '/ws/' }, instances: [{ url: `http://127.0.0.1:${port}` }], websocket: true, ipLimits: { rpm: 1 } }],
  });
  const wsUrl = gw.url.replace('http', 'ws');
  /** The status an upgrade is answered: 101 when it opens. */
  const upgrade = (client: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsUrl}/ws/x`, { headers: { 'x-forwarded-for': client } });
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    });
  try {
    assert.equal(await upgrade('198.51.100.7'), 101);
    // Another client behind the same proxy has its own limit; the first has spent its own.
    assert.equal(await upgrade('198.51.100.8'), 101);
    assert.equal(await upgrade('198.51.100.7'), 429);
  } finally {
    await gw.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
});
