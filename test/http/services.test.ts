import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { Backend, startBackends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const send = (gw: TestGateway, path: string, init: { method?: 'GET' | 'POST'; body?: Readable | string; headers?: Record<string, string> } = {}) =>
  req.send(gw, path, { method: init.method ?? 'GET', body: init.body, headers: init.headers ?? {} });

describe('HTTP service paths are normalised before matching and forwarding (issue 15)', () => {
  let api: Backend;
  let other: Backend;
  let gw: TestGateway;
  before(async () => {
    [api, other] = await startBackends('api', 'other');
    gw = await startGateway({
      services: [
        { name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: api.url }], websocket: true },
        { name: 'files', match: { pathPrefix: '/files/' }, instances: [{ url: other.url }], allowEncodedSlashes: true },
        { name: 'internal', match: { pathPrefix: '/internal/' }, instances: [{ url: other.url }] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([api.stop(), other.stop()]);
  });

  test('regression: /api/../internal/x and its %2e%2e forms reached the api backend outside its prefix', async () => {
    for (const path of ['/api/../internal/x', '/api/%2e%2e/internal/x', '/api/.%2E/internal/x']) {
      api.seen.length = 0;
      other.seen.length = 0;
      const res = await send(gw, path);
      assert.equal(api.hits, 0, `${path} must not reach the api backend: ${res.text}`);
      // Normalised, it is /internal/x: the internal service's, and forwarded as that.
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(other.seen.map((r) => r.url), ['/internal/x']);
    }
    api.seen.length = 0;
    const admin = await send(gw, '/api/../admin/keys');
    assert.equal(api.hits, 0, 'the gateway’s own /admin/ is not forwarded to the api backend');
    assert.ok(admin.status < 500 && admin.status !== 200, `${admin.status} ${admin.text}`);
  });

  test('the normalised path is what the backend receives', async () => {
    api.seen.length = 0;
    assert.equal((await send(gw, '/api/a/./b/../c?q=../x')).status, 200);
    assert.equal((await send(gw, '/api/%7Euser/%61')).status, 200);
    assert.deepEqual(api.seen.map((r) => r.url), ['/api/a/c?q=../x', '/api/~user/a']);
  });

  test('encoded slashes, backslashes, an encoded NUL and malformed escapes are a coded 400, unless the service allows encoded slashes', async () => {
    api.seen.length = 0;
    for (const path of ['/api/a%2F..%2F..%2Finternal', '/api/a%5cb', '/api/a%00', '/api/%zz']) {
      const res = await send(gw, path);
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'SLUICE_ERR_INVALID_PATH', path);
    }
    assert.equal(api.hits, 0);
    other.seen.length = 0;
    assert.equal((await send(gw, '/files/a%2fb')).status, 200);
    assert.deepEqual(other.seen.map((r) => r.url), ['/files/a%2Fb'], 'kept encoded for a service that allows it');
    // A path no service takes is the gateway's own business (404), refused or not.
    assert.equal((await send(gw, '/elsewhere/%2F')).status, 404);
  });

  test('a WebSocket upgrade on an encoded slash is refused too', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/a%2Fb`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    assert.equal(status, 400);
  });
});

describe('HTTP services have a default body limit (issue 15)', () => {
  let api: Backend;
  let gw: TestGateway;
  before(async () => {
    [api] = await startBackends('api');
    gw = await startGateway({ services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: api.url }] }] });
  });
  after(async () => {
    await gw.close();
    await api.stop();
  });

  test('regression: a service without bodyLimit forwarded any upload; now 10 MB, 413 by Content-Length or when a streamed upload passes it', async () => {
    const mb = Buffer.alloc(1024 * 1024, 0x61);
    const declared = await send(gw, '/api/upload', { method: 'POST', body: Buffer.concat(Array.from({ length: 11 }, () => mb)).toString('latin1'), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(declared.status, 413, declared.text);
    assert.match(declared.text, /SLUICE_ERR_BODY_TOO_LARGE/);
    // Chunked, no Content-Length: cut off once 10 MB have passed.
    let sent = 0;
    const chunked = Readable.from(
      (function* () {
        for (let i = 0; i < 12; i++) {
          sent++;
          yield mb;
        }
      })(),
    );
    const streamed = await send(gw, '/api/upload', { method: 'POST', body: chunked });
    assert.equal(streamed.status, 413, streamed.text);
    assert.ok(api.seen.every((r) => r.body.length <= 10 * 1024 * 1024), 'no body past the limit reached the backend');
    assert.ok(sent <= 12);
    // Within the limit, it is forwarded.
    assert.equal((await send(gw, '/api/upload', { method: 'POST', body: mb.toString('latin1') })).status, 200);
  });
});
