import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { Backend, startBackends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'sk-svc-client-key-9f8e7d6c5b4a3210';
const JWT_SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';

/** Sends a GET through the gateway and returns the headers the backend recorded for it. */
async function seenBy(gw: TestGateway, backend: Backend, path: string, headers: Record<string, string>): Promise<IncomingHttpHeaders> {
  const before = backend.seen.length;
  const res = await request(`${gw.url}${path}`, { headers });
  await res.body.dump();
  assert.equal(res.statusCode, 200);
  assert.equal(backend.seen.length, before + 1);
  return backend.seen[before]!.headers;
}

describe('Sluice credentials are not forwarded to service backends (issue 15)', () => {
  let gw: TestGateway;
  let open: TestGateway;
  let closed: Backend;
  let optIn: Backend;
  let anon: Backend;
  before(async () => {
    [closed, optIn, anon] = await startBackends('closed', 'opt-in', 'anon');
    gw = await startGateway({
      auth: { required: true, jwt: { secret: JWT_SECRET } },
      keys: [{ name: 'client', key: KEY }],
      services: [
        { name: 'closed', match: { pathPrefix: '/api/' }, instances: [{ url: closed!.url }] },
        { name: 'opt-in', match: { pathPrefix: '/mine/' }, instances: [{ url: optIn!.url }], forwardCredentials: true },
      ],
    });
    open = await startGateway({ keys: [{ name: 'client', key: KEY }], auth: { required: false }, services: [{ name: 'anon', match: { pathPrefix: '/' }, instances: [{ url: anon!.url }] }] });
  });
  after(async () => {
    await gw.close();
    await open.close();
    for (const b of [closed, optIn, anon]) await b.stop();
  });

  test('regression: the key in Authorization: Bearer is stripped, other headers are kept', async () => {
    const h = await seenBy(gw, closed, '/api/x', { authorization: `Bearer ${KEY}`, 'x-custom': 'kept' });
    assert.equal(h.authorization, undefined);
    assert.equal(h['x-custom'], 'kept');
    assert.ok(!JSON.stringify(h).includes(KEY));
  });

  test('regression: the key in x-api-key (and api-key) is stripped', async () => {
    assert.equal((await seenBy(gw, closed, '/api/x', { 'x-api-key': KEY }))['x-api-key'], undefined);
    assert.equal((await seenBy(gw, closed, '/api/x', { 'api-key': KEY }))['api-key'], undefined);
  });

  test('a JWT that Sluice verified is stripped too', async () => {
    const jwt = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
    assert.equal((await seenBy(gw, closed, '/api/x', { authorization: `Bearer ${jwt}` })).authorization, undefined);
  });

  test('forwardCredentials: true passes the credential on', async () => {
    assert.equal((await seenBy(gw, optIn, '/mine/x', { authorization: `Bearer ${KEY}` })).authorization, `Bearer ${KEY}`);
  });

  test("a header that is not a Sluice credential (the backend's own token, served anonymously) passes through", async () => {
    const h = await seenBy(open, anon, '/x', { authorization: 'Bearer backend-session-token-123' });
    assert.equal(h.authorization, 'Bearer backend-session-token-123');
    assert.equal((await seenBy(open, anon, '/x', { authorization: `Bearer ${KEY}` })).authorization, undefined, 'a valid Sluice key is stripped on an open gateway too');
  });

  test('regression: a WebSocket upgrade does not carry the key to the backend either', async () => {
    const ws = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const seen: IncomingHttpHeaders[] = [];
    ws.on('connection', (socket, req) => {
      seen.push(req.headers);
      socket.close();
    });
    await new Promise<void>((resolve) => ws.once('listening', () => resolve()));
    const port = (ws.address() as { port: number }).port;
    const wgw = await startGateway({ keys: [{ name: 'client', key: KEY }], services: [{ name: 'ws', match: { pathPrefix: '/ws/' }, instances: [{ url: `http://127.0.0.1:${port}` }], websocket: true }] });
    try {
      const client = new WebSocket(`${wgw.url.replace('http', 'ws')}/ws/chat`, { headers: { authorization: `Bearer ${KEY}` } });
      await new Promise<void>((resolve, reject) => {
        client.once('close', () => resolve());
        client.once('error', reject);
      });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.authorization, undefined);
    } finally {
      await wgw.close();
      await new Promise<void>((resolve) => ws.close(() => resolve()));
    }
  });
});
