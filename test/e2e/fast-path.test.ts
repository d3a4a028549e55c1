import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { HeldUpstream, waitFor } from '../helpers/wait.js';

/**
 * The fast path (server/fast-path) serves model requests without fastify; with CORS on,
 * fastify's routes serve them. Both must answer every request the same way, so each case
 * here goes to one gateway of each kind, and the answers are compared.
 */
const BODY_LIMIT = 4096;

interface Answer {
  status: number;
  type: string | undefined;
  requestId: string | undefined;
  body: string;
}

async function send(url: string, path: string, init: { body?: string | Readable | undefined; headers?: Record<string, string> }): Promise<Answer> {
  const reply = await req.send(url, path, { method: 'POST', body: init.body ?? '', headers: { 'content-type': 'application/json', ...init.headers } });
  const id = reply.headers['x-request-id'];
  return { status: reply.status, type: reply.headers['content-type'] as string | undefined, requestId: typeof id === 'string' ? id : undefined, body: reply.text };
}

/** What must be equal between the two paths: the mock's answers carry fresh ids, so only their shape is compared. */
function comparable(a: Answer): unknown {
  // Anthropic's error bodies carry the request id, fresh on each side.
  if (a.status !== 200) return { ...a, requestId: a.requestId === undefined ? undefined : 'present', body: a.body.replace(/"request_id":"[^"]*"/, '"request_id":"…"') };
  if (a.type?.startsWith('text/event-stream') === true) return { status: a.status, type: a.type, done: a.body.trimEnd().endsWith('data: [DONE]') };
  const body = JSON.parse(a.body) as { object?: string; type?: string };
  return { status: a.status, type: a.type, object: body.object ?? body.type };
}

/** A body without Content-Length, sent chunked. */
const chunked = (parts: string[]): Readable => Readable.from(parts.map((p) => Buffer.from(p)));

const chat = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });

describe('the fast path answers model requests exactly as fastify routes do', () => {
  let mock: MockServer;
  let fast: TestGateway;
  let routed: TestGateway;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    const config = (cors: string[]) => ({
      server: { bodyLimit: BODY_LIMIT, trustProxy: true, cors: { origins: cors } },
      limits: { ip: { rpm: 3 } },
      providers: { mock: { type: 'openai', baseUrl: mock.url } },
      routes: [{ match: 'gpt-*', targets: [{ provider: 'mock' }] }],
    });
    fast = await startGateway(config([]));
    routed = await startGateway(config(['https://app.example.com']));
    assert.notEqual(fast.gateway.fastPath, null);
    assert.equal(routed.gateway.fastPath, null);
  });

  after(async () => {
    await fast.close();
    await routed.close();
    await mock.close();
  });

  // Each case from its own client address (x-forwarded-for, trusted), under the IP limit of 3 a minute.
  let client = 0;
  const cases: [string, string, { body?: string | (() => Readable); headers?: Record<string, string> }, number][] = [
    ['a chat completion', '/v1/chat/completions', { body: chat }, 200],
    ['the client request id echoed', '/v1/chat/completions', { body: chat, headers: { 'x-request-id': 'client-id-1' } }, 200],
    ['a stream', '/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }) }, 200],
    ['a query string', '/v1/chat/completions?trace=1', { body: chat }, 200],
    ['a charset parameter', '/v1/chat/completions', { body: chat, headers: { 'content-type': 'application/json; charset=utf-8' } }, 200],
    ['embeddings', '/v1/embeddings', { body: JSON.stringify({ model: 'gpt-emb', input: 'x' }) }, 200],
    ['a body sent in chunks', '/v1/chat/completions', { body: () => chunked([chat.slice(0, 10), chat.slice(10)]) }, 200],
    ['invalid JSON', '/v1/chat/completions', { body: '{"model":' }, 400],
    ['an empty body', '/v1/chat/completions', { body: '' }, 400],
    ['a __proto__ key', '/v1/chat/completions', { body: '{"model":"gpt-4o","__proto__":{"x":1},"messages":[]}' }, 400],
    ['a body of the wrong shape', '/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4o', messages: [] }) }, 400],
    ['a JSON array', '/v1/completions', { body: '[1,2]' }, 400],
    ['an unrouted model', '/v1/chat/completions', { body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }) }, 404],
    ['a declared length over the limit', '/v1/chat/completions', { body: 'x'.repeat(BODY_LIMIT + 1) }, 413],
    ['a chunked body growing over the limit', '/v1/chat/completions', { body: () => chunked(['{"a":"', 'x'.repeat(BODY_LIMIT), '"}']) }, 413],
    ['invalid JSON on /v1/messages (Anthropic error shape)', '/v1/messages', { body: '{' }, 400],
    ['a bad Anthropic body', '/v1/messages', { body: JSON.stringify({ model: 'gpt-4o' }) }, 400],
  ];
  for (const [name, path, init, status] of cases) {
    test(name, async () => {
      client++;
      const headers = { 'x-forwarded-for': `203.0.113.${client}`, ...init.headers };
      const before = fast.gateway.fastPath!.served;
      const body = (): string | Readable | undefined => (typeof init.body === 'function' ? init.body() : init.body);
      const a = await send(fast.url, path, { body: body(), headers });
      const b = await send(routed.url, path, { body: body(), headers });
      assert.equal(fast.gateway.fastPath!.served, before + 1, 'the fast path served it');
      assert.equal(a.status, status, a.body);
      assert.deepEqual(comparable(a), comparable(b));
      if (init.headers?.['x-request-id'] !== undefined) assert.equal(a.requestId, init.headers['x-request-id']);
      else assert.match(a.requestId ?? '', /^[0-9a-f-]{36}$/);
    });
  }

  test('the client address comes from trusted forwarding headers: the IP limit counts per forwarded client', async () => {
    for (const gw of [fast, routed]) {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.7' } })).status);
      const other = await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.8' } });
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(other.status, 200);
    }
  });

  test('other content types and methods are left to fastify', async () => {
    const before = fast.gateway.fastPath!.served;
    const plain = await send(fast.url, '/v1/chat/completions', { body: chat, headers: { 'content-type': 'text/plain', 'x-forwarded-for': '192.0.2.1' } });
    const routedPlain = await send(routed.url, '/v1/chat/completions', { body: chat, headers: { 'content-type': 'text/plain', 'x-forwarded-for': '192.0.2.1' } });
    assert.deepEqual(comparable(plain), comparable(routedPlain));
    const get = await request(`${fast.url}/v1/chat/completions`);
    assert.equal(get.statusCode, 404);
    await get.body.dump();
    const slash = await send(fast.url, '/v1/chat/completions/', { body: chat, headers: { 'x-forwarded-for': '192.0.2.2' } });
    assert.equal(slash.status, 404);
    assert.equal(fast.gateway.fastPath!.served, before);
  });
});

test('while draining, a request on a connection still open gets 503 and Connection: close from the fast path', async () => {
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
    socket.write(one);
    upstream.release();
    await closed;
    await stopping;
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^HTTP\/1\.1 200/);
    assert.match(answers[1]!, /^HTTP\/1\.1 503/);
    assert.match(answers[1]!, /connection: close/i);
    assert.match(answers[1]!, /SLUICE_ERR_SHUTTING_DOWN/);
    assert.equal(gw.gateway.fastPath!.served, 2);
  } finally {
    upstream.releaseAll();
    await upstream.stop();
  }
});

describe('the fast path takes the client address as fastify does, under every trustProxy form', () => {
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
      const config = (cors: string[]) => ({
        server: { trustProxy, cors: { origins: cors } },
        limits: { ip: { rpm: 2 } },
        providers: { mock: { type: 'openai', baseUrl: mock.url } },
        routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
      });
      const fast = await startGateway(config([]));
      const routed = await startGateway(config(['https://app.example.com']));
      try {
        for (const gw of [fast, routed]) {
          const statuses: number[] = [];
          for (let i = 0; i < 3; i++) statuses.push((await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.7' } })).status);
          const other = await send(gw.url, '/v1/chat/completions', { body: chat, headers: { 'x-forwarded-for': '198.51.100.8' } });
          assert.deepEqual([...statuses, other.status], [200, 200, 429, forwarded ? 200 : 429], gw === fast ? 'fast path' : 'fastify routes');
        }
        assert.equal(fast.gateway.fastPath!.served, 4);
      } finally {
        await fast.close();
        await routed.close();
      }
    });
  }
});
