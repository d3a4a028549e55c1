import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { FakeClock } from '../../src/lib/clock.js';
import { Backend, deadPort, echoHandler, startBackends } from '../helpers/backends.js';
import { startGateway, seededRandom, type TestGateway } from '../helpers/gateway.js';

interface Echo {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' | 'PUT' | 'HEAD' = 'GET', body?: string | Buffer) {
  const res = await request(`${gw.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  const json = text.startsWith('{') ? (JSON.parse(text) as Echo & { error?: { code: string } }) : null;
  return { status: res.statusCode, headers: res.headers, raw, text, json };
}

/** node:http, which sends the Connection and TE headers as given (undici manages its own). */
function rawGet(gw: TestGateway, path: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; json: Echo }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}${path}`, { headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ headers: res.headers, json: JSON.parse(text) as Echo }));
    });
    req.on('error', reject);
    req.end();
  });
}

const service = (instances: Backend[] | string[], extra: Record<string, unknown> = {}) => ({
  name: 'api',
  match: { pathPrefix: '/api/' },
  instances: instances.map((b) => ({ url: typeof b === 'string' ? b : b.url })),
  ...extra,
});

describe('HTTP services', () => {
  let a: Backend;
  let b: Backend;
  before(async () => {
    [a, b] = await startBackends('a', 'b');
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });
  const reset = (): void => {
    for (const x of [a, b]) x.seen.length = 0;
  };

  test('round robin alternates between instances; sticky cookies hold a client to one and move it when that one is down', async () => {
    reset();
    const gw = await startGateway({ services: [service([a, b])] });
    try {
      const names: string[] = [];
      for (let i = 0; i < 6; i++) names.push((await get(gw, '/api/x')).json!.name);
      assert.deepEqual(names, ['a', 'b', 'a', 'b', 'a', 'b']);
      // Every answer is counted once per instance: requests, latency and time to first byte.
      const metrics = (await get(gw, '/metrics')).text;
      for (const backend of [a, b]) {
        const labels = `service="api",instance="${backend.url}"`;
        assert.match(metrics, new RegExp(`sluice_http_requests_total\\{${labels},method="GET",status="200",code=""\\} 3\n`));
        assert.match(metrics, new RegExp(`sluice_http_request_duration_seconds_count\\{${labels}\\} 3\n`));
        assert.match(metrics, new RegExp(`sluice_http_time_to_first_byte_seconds_bucket\\{le="\\+Inf",${labels}\\} 3\n`));
      }
    } finally {
      await gw.close();
    }

    reset();
    const dead = await deadPort();
    const sticky = await startGateway({ services: [service([a, b], { balance: { sticky: { cookie: 'sluice_srv', ttl: '1h' } } })] });
    try {
      const first = await get(sticky, '/api/x');
      const setCookie = String(first.headers['set-cookie']);
      assert.match(setCookie, /^sluice_srv=[0-9a-f]{16}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
      const cookie = setCookie.split(';')[0]!;
      for (let i = 0; i < 5; i++) {
        const r = await get(sticky, '/api/x', { cookie: `theme=dark; ${cookie}` });
        assert.equal(r.json!.name, first.json!.name, 'the session stays on its instance');
        assert.equal(r.headers['set-cookie'], undefined, 'a valid session is not re-bound');
      }
      // An unknown (or stale) cookie is re-bound to an instance in rotation.
      const moved = await get(sticky, '/api/x', { cookie: 'sluice_srv=0000000000000000' });
      assert.match(String(moved.headers['set-cookie']), /^sluice_srv=/);
    } finally {
      await sticky.close();
    }

    // Sticky to an instance that is down: the request is answered by another and the cookie moves.
    const down = await startGateway({ services: [service([`http://127.0.0.1:${dead}`, a.url], { balance: { sticky: { cookie: 's' } }, outlier: { consecutiveFailures: 1, ejectionTime: '1h' } })] });
    try {
      const deadId = down.gateway.services.runtimes[0]!.instances[0]!.id;
      const r = await get(down, '/api/x', { cookie: `s=${deadId}` });
      assert.equal(r.status, 200);
      assert.equal(r.json!.name, 'a');
      assert.equal(r.headers['set-cookie'], `s=${down.gateway.services.runtimes[0]!.instances[1]!.id}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);
    } finally {
      await down.close();
    }
  });

  test('header affinity and consistent hashing keep a key on one instance', async () => {
    reset();
    const gw = await startGateway({
      services: [
        service([a, b], { name: 'sticky', match: { pathPrefix: '/s/' }, balance: { sticky: { header: 'X-Session' } } }),
        service([a, b], { name: 'hashed', match: { pathPrefix: '/h/' }, balance: { strategy: 'consistent-hash', hashOn: { source: 'header', name: 'x-user' } } }),
      ],
    });
    try {
      for (const prefix of ['/s/', '/h/']) {
        const header = prefix === '/s/' ? 'x-session' : 'x-user';
        const owners = new Map<string, Set<string>>();
        for (let round = 0; round < 3; round++) {
          for (let u = 0; u < 20; u++) {
            const r = await get(gw, `${prefix}x`, { [header]: `user-${u}` });
            const set = owners.get(`user-${u}`) ?? new Set<string>();
            set.add(r.json!.name);
            owners.set(`user-${u}`, set);
          }
        }
        for (const [user, set] of owners) assert.equal(set.size, 1, `${prefix}: ${user} moved between instances`);
        const onA = [...owners.values()].filter((s) => s.has('a')).length;
        assert.ok(onA > 0 && onA < 20, `${prefix}: keys spread over both instances (${onA} of 20 on a)`);
      }
    } finally {
      await gw.close();
    }
  });

  test('an instance killed mid-load: idempotent requests all succeed, it is ejected, and it is re-admitted after passing its health check twice', async () => {
    reset();
    const clock = new FakeClock();
    const victim = await new Backend('victim').start();
    const gw = await startGateway(
      {
        services: [
          service([a, victim], {
            // Seed 001's checks: /api/v1/health every 30 s, 10 s timeout, 2 healthy / 3 unhealthy.
            healthCheck: { path: '/health', interval: '30s', timeout: '10s', healthyThreshold: 2, unhealthyThreshold: 3 },
            outlier: { consecutiveFailures: 2, ejectionTime: '10s' },
          }),
        ],
      },
      {},
      { clock, random: seededRandom(7) },
    );
    const events: string[] = [];
    gw.gateway.bus.on('http:instance', (t) => events.push(`${t.instance === victim.url ? 'victim' : 'a'}:${t.event}`));
    const inst = gw.gateway.services.runtimes[0]!.instances[1]!;
    try {
      let done = 0;
      const statuses: number[] = [];
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 25; i++) {
          const r = await get(gw, `/api/items/${i}`);
          statuses.push(r.status);
          if (++done === 40) await victim.stop();
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      assert.equal(statuses.length, 200);
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        'no client saw an error',
      );
      assert.ok(victim.hits > 0 && victim.hits < 200);
      assert.equal(inst.available, false, 'the dead instance is out of rotation');
      assert.ok(events.includes('victim:ejected'), events.join());
      const metrics = await get(gw, '/metrics');
      assert.match(metrics.text, new RegExp(`sluice_http_instance_up\\{service="api",instance="${victim.url}"\\} 0`));
      assert.match(metrics.text, /sluice_http_retries_total\{service="api"\} [1-9]/);

      // Three failed checks mark it unhealthy; once the ejection time is over it stays out.
      for (let i = 0; i < 3; i++) await inst.health!.check();
      assert.equal(inst.health!.healthy, false);
      clock.advance(10_000);
      const hitsBefore = victim.hits;
      for (let i = 0; i < 5; i++) assert.equal((await get(gw, '/api/x')).json!.name, 'a');

      // Back up: one passing check is not enough (healthyThreshold 2), the second re-admits it.
      await victim.start();
      await inst.health!.check();
      assert.equal(inst.available, false);
      for (let i = 0; i < 4; i++) assert.equal((await get(gw, '/api/x')).json!.name, 'a');
      await inst.health!.check();
      assert.equal(inst.health!.healthy, true);
      const names = new Set<string>();
      for (let i = 0; i < 6; i++) names.add((await get(gw, '/api/x')).json!.name);
      assert.ok(names.has('victim'), 'the instance is back in rotation');
      assert.ok(victim.hits > hitsBefore);
      assert.ok(events.includes('victim:unhealthy') && events.includes('victim:healthy') && events.includes('victim:readmitted'), events.join());
    } finally {
      await gw.close();
      await victim.stop().catch(() => {});
    }
  });

  test('POST is not retried on another instance unless the service says so', async () => {
    reset();
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const gw = await startGateway({ services: [service([dead, a.url]), service([dead, a.url], { name: 'lenient', match: { pathPrefix: '/lenient/' }, retry: { methods: ['GET', 'POST'] } })] });
    try {
      const posts = [await get(gw, '/api/orders', { 'content-type': 'application/json' }, 'POST', '{"n":1}'), await get(gw, '/api/orders', { 'content-type': 'application/json' }, 'POST', '{"n":2}')];
      assert.deepEqual(posts.map((p) => p.status).sort(), [200, 502]);
      assert.equal(posts.find((p) => p.status === 502)!.json!.error!.code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE');
      assert.equal(a.seen.filter((r) => r.method === 'POST').length, 1, 'the failed POST was not replayed');
      // A GET to the same pair always succeeds (retried on the live instance).
      for (let i = 0; i < 4; i++) assert.equal((await get(gw, '/api/x')).status, 200);
      // A bodiless POST on a service that lists POST is retried.
      for (let i = 0; i < 2; i++) assert.equal((await get(gw, '/lenient/x', {}, 'POST')).status, 200);

      // A 503 to a POST is passed through, not retried.
      reset();
      a.handler = (_req, res) => {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('busy');
      };
      const gw2 = await startGateway({ services: [service([a, b])] });
      try {
        const r = await get(gw2, '/api/orders', {}, 'POST', 'x');
        assert.equal(r.status, 503);
        assert.equal(r.text, 'busy');
        assert.equal(b.seen.length, 0);
        // The same 503 to a GET is retried on b.
        const g = await get(gw2, '/api/x');
        assert.equal(g.json!.name, 'b');
      } finally {
        await gw2.close();
      }
    } finally {
      a.handler = echoHandler;
      await gw.close();
    }
  });

  test('an instance that does not answer in time: the GET moves on, a lone instance is a coded 504', async () => {
    reset();
    const silent = await new Backend('silent', () => {}).start();
    const gw = await startGateway({
      services: [
        service([silent, a], { timeouts: { firstByte: '150ms' } }),
        service([silent], { name: 'lone', match: { pathPrefix: '/lone/' }, timeouts: { firstByte: '150ms' } }),
      ],
    });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await get(gw, '/api/x')).json!.name, 'a');
      assert.equal(silent.seen.length, 1, 'the silent instance was tried once');
      const lone = await get(gw, '/lone/x');
      assert.equal(lone.status, 504);
      assert.equal(lone.json!.error!.code, 'SLUICE_ERR_UPSTREAM_TIMEOUT');
    } finally {
      await gw.close();
      await silent.stop();
    }
  });

  test('prefix rewriting: strip, replace, and an instance base path', async () => {
    reset();
    const gw = await startGateway({
      services: [
        service([a], { name: 'strip', match: { pathPrefix: '/strip' }, rewrite: { stripPrefix: true } }),
        service([a], { name: 'replace', match: { pathPrefix: '/old/' }, rewrite: { replacePrefix: '/new/v2/' } }),
        { name: 'based', match: { pathPrefix: '/based/' }, instances: [{ url: `${a.url}/base/` }] },
      ],
    });
    try {
      assert.equal((await get(gw, '/strip/users/7?x=1')).json!.url, '/users/7?x=1');
      assert.equal((await get(gw, '/strip')).json!.url, '/');
      assert.equal((await get(gw, '/stripped')).status, 404, '/strip does not cover /stripped');
      assert.equal((await get(gw, '/old/users?q=2')).json!.url, '/new/v2/users?q=2');
      assert.equal((await get(gw, '/based/x')).json!.url, '/base/based/x');
    } finally {
      await gw.close();
    }
  });

  test('forwarded headers, hop-by-hop headers and the request id', async () => {
    reset();
    const untrusted = await startGateway({ services: [service([a])] });
    const trusted = await startGateway({ server: { trustProxy: true }, services: [service([a])] });
    try {
      const sent = { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9', connection: 'x-private, keep-alive', 'x-private': 'secret', te: 'trailers', 'x-request-id': 'req-42', 'x-kept': 'yes' };
      const r = await rawGet(untrusted, '/api/x', sent);
      const h = r.json.headers;
      assert.equal(h['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot forge its address');
      assert.equal(h.forwarded, `for=127.0.0.1;host="${untrusted.url.slice(7)}";proto=http`);
      assert.equal(h['x-forwarded-proto'], 'http');
      assert.equal(h['x-forwarded-host'], untrusted.url.slice(7));
      assert.equal(h.host, a.url.slice(7));
      assert.equal(h['x-private'], undefined, 'headers named by Connection are dropped');
      assert.equal(h.te, undefined);
      assert.equal(h['x-kept'], 'yes');
      assert.equal(h['x-request-id'], 'req-42');
      assert.equal(r.headers['x-request-id'], 'req-42');

      const t = (await rawGet(trusted, '/api/x', sent)).json.headers;
      assert.equal(t['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'a trusted proxy chain is extended');
      assert.equal(t.forwarded, `for=203.0.113.9, for=127.0.0.1;host="${trusted.url.slice(7)}";proto=http`);
    } finally {
      await Promise.all([untrusted.close(), trusted.close()]);
    }
  });

  test('responses are compressed when the client accepts it and the upstream did not', async () => {
    reset();
    const big = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });
    a.handler = (req, res) => {
      if (req.url === '/api/png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(Buffer.alloc(4096, 1));
      } else if (req.url === '/api/small') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
        res.end('{"ok":true}');
      } else if (req.url === '/api/encoded') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(Buffer.from('already'));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'content-length': Buffer.byteLength(big) });
        res.end(big);
      }
    };
    const gw = await startGateway({ services: [service([a]), service([a], { name: 'plain', match: { pathPrefix: '/plain/' }, rewrite: { replacePrefix: '/api/' }, compression: false })] });
    try {
      const gz = await get(gw, '/api/list', { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gz.headers['content-length'], undefined);
      assert.equal(gz.headers.vary, 'Accept-Encoding');
      assert.equal(gz.headers.etag, 'W/"v1"');
      assert.equal(gunzipSync(gz.raw).toString(), big);
      const br = await get(gw, '/api/list', { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(brotliDecompressSync(br.raw).toString(), big);
      const none = await get(gw, '/api/list', { 'accept-encoding': 'br;q=0, gzip;q=0' });
      assert.equal(none.headers['content-encoding'], undefined);
      assert.equal(none.text, big);
      assert.equal((await get(gw, '/api/png', { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined, 'images are not recompressed');
      assert.equal((await get(gw, '/api/small', { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined, 'below minSize');
      const enc = await get(gw, '/api/encoded', { 'accept-encoding': 'br' });
      assert.equal(enc.headers['content-encoding'], 'gzip', 'an encoded answer passes untouched');
      assert.equal((await get(gw, '/plain/list', { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined, 'compression: false');
    } finally {
      a.handler = echoHandler;
      await gw.close();
    }
  });

  test('oversized bodies are refused with a coded 413, declared or streamed; oversized answers with a coded 502', async () => {
    reset();
    a.handler = (req, res) => {
      const n = req.url?.startsWith('/api/huge') === true ? 5000 : 10;
      // `?chunked`: no Content-Length, so the limit can only be found while streaming.
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...(req.url?.endsWith('?chunked') === true ? {} : { 'content-length': n }) });
      res.end(Buffer.alloc(n));
    };
    const gw = await startGateway({ services: [service([a], { bodyLimit: '1kb', responseLimit: '4kb' })] });
    try {
      const declared = await get(gw, '/api/upload', { 'content-type': 'text/plain' }, 'PUT', 'x'.repeat(2000));
      assert.equal(declared.status, 413);
      assert.equal(declared.json!.error!.code, 'SLUICE_ERR_BODY_TOO_LARGE');
      assert.equal(a.seen.length, 0, 'refused before forwarding');
      const chunks = Readable.from((function* () {
        for (let i = 0; i < 4; i++) yield Buffer.alloc(400, 97);
      })());
      const res = await request(`${gw.url}/api/upload`, { method: 'POST', body: chunks });
      const streamed = JSON.parse(await res.body.text()) as { error: { code: string } };
      assert.equal(res.statusCode, 413);
      assert.equal(streamed.error.code, 'SLUICE_ERR_BODY_TOO_LARGE');
      assert.equal((await get(gw, '/api/upload', {}, 'PUT', 'small')).status, 200);
      const huge = await get(gw, '/api/huge');
      assert.equal(huge.status, 502);
      assert.equal(huge.json!.error!.code, 'SLUICE_ERR_RESPONSE_TOO_LARGE');
      // Past the head, the only signal left is a cut connection: the client must not take it for a whole answer.
      await assert.rejects(get(gw, '/api/huge?chunked'), /other side closed|terminated/);
    } finally {
      a.handler = echoHandler;
      await gw.close();
    }
  });

  test('small bodies (read whole) travel byte for byte both ways; an answer that breaks off before its length is a coded 502, not a cut connection', async () => {
    // Every byte value, including ones that are not UTF-8: the body is bytes, never text.
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    // Its own instance: the shared backends hand their handlers the body as text.
    const raw = http.createServer((req, res) => {
      if (req.url === '/api/short') {
        // Declares 100 bytes, sends 10, then the connection dies.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' });
        res.write(Buffer.alloc(10));
        setImmediate(() => res.socket?.destroy());
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.end(body);
      });
    });
    await new Promise<void>((ok) => raw.listen(0, '127.0.0.1', ok));
    const gw = await startGateway({ services: [service([`http://127.0.0.1:${(raw.address() as AddressInfo).port}`])] });
    try {
      const echoed = await get(gw, '/api/bytes', { 'content-type': 'application/octet-stream' }, 'PUT', bytes);
      assert.equal(echoed.status, 200);
      assert.deepEqual(echoed.raw, bytes);
      const short = await get(gw, '/api/short');
      assert.equal(short.status, 502);
      assert.match(short.json!.error!.code, /^SLUICE_ERR_UPSTREAM/);
    } finally {
      await gw.close();
      raw.closeAllConnections();
      await new Promise((ok) => raw.close(ok));
    }
  });

  test('per-IP limits before authentication, required keys and per-key limits per service', async () => {
    reset();
    const key = 'sk-test-service-key-0001';
    const gw = await startGateway({
      auth: { required: false },
      keys: [{ name: 'k', key, tier: 'small' }],
      tiers: { small: { limits: { rpm: 3 } } },
      services: [
        service([a], { name: 'open', match: { pathPrefix: '/open/' }, ipLimits: { rpm: 2 } }),
        service([a], { name: 'private', match: { pathPrefix: '/private/' }, auth: { required: true } }),
      ],
    });
    try {
      assert.equal((await get(gw, '/open/x')).status, 200);
      assert.equal((await get(gw, '/open/x')).status, 200);
      const limited = await get(gw, '/open/x');
      assert.equal(limited.status, 429);
      assert.equal(limited.json!.error!.code, 'SLUICE_ERR_RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1);

      const anon = await get(gw, '/private/x');
      assert.equal(anon.status, 401);
      assert.equal(anon.json!.error!.code, 'SLUICE_ERR_UNAUTHORIZED');
      const auth = { authorization: `Bearer ${key}` };
      for (let i = 0; i < 3; i++) assert.equal((await get(gw, '/private/x', auth)).status, 200);
      const overKey = await get(gw, '/private/x', auth);
      assert.equal(overKey.status, 429, "the key's tier limit applies to services too");
      assert.match(String(overKey.headers['ratelimit-policy']), /principal-rpm/);
      // The model surface still answers: a service on a path prefix does not take it.
      const chat = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }) });
      assert.equal(chat.statusCode, 200);
      await chat.body.dump();
    } finally {
      await gw.close();
    }
  });

  test("a catch-all service leaves Sluice's own endpoints alone unless it claims them", async () => {
    reset();
    const gw = await startGateway({ services: [service([a], { name: 'all', match: { pathPrefix: '/' } }), service([b], { name: 'models', match: { pathPrefix: '/v1/models' } })] });
    try {
      assert.equal((await get(gw, '/anything')).json!.name, 'a');
      assert.equal((await get(gw, '/v1/other')).json!.name, 'a');
      assert.deepEqual((await get(gw, '/health')).json, { status: 'ok' });
      assert.equal((await get(gw, '/metrics')).status, 200);
      assert.equal((await get(gw, '/v1/models')).json!.name, 'b', 'claimed explicitly');
    } finally {
      await gw.close();
    }
  });

  test('WebSocket upgrades pass through to an instance', async () => {
    const echo = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    echo.on('connection', (socket, req) => socket.on('message', (data) => socket.send(`${req.url} ${String(data)}`)));
    await new Promise<void>((resolve) => echo.once('listening', () => resolve()));
    const port = (echo.address() as { port: number }).port;
    const gw = await startGateway({ services: [{ name: 'ws', match: { pathPrefix: '/ws/' }, instances: [{ url: `http://127.0.0.1:${port}` }], websocket: true }, service([a])] });
    const wsUrl = gw.url.replace('http', 'ws');
    try {
      const client = new WebSocket(`${wsUrl}/ws/chat?room=1`);
      await new Promise<void>((resolve, reject) => {
        client.once('open', () => resolve());
        client.once('error', reject);
      });
      const replies: string[] = [];
      const got = new Promise<void>((resolve) =>
        client.on('message', (d) => {
          replies.push(String(d));
          if (replies.length === 2) resolve();
        }),
      );
      client.send('hello');
      client.send('again');
      await got;
      assert.deepEqual(replies, ['/ws/chat?room=1 hello', '/ws/chat?room=1 again']);
      client.close();


      // A service without `websocket: true` refuses the upgrade.
      const refused = new WebSocket(`${wsUrl}/api/socket`);
      const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      assert.equal(status, 404);

      // A tunnel still open when the gateway shuts down is closed, not waited for.
      const open = new WebSocket(`${wsUrl}/ws/late`);
      await new Promise<void>((resolve) => open.once('open', () => resolve()));
      const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
      assert.equal(await gw.gateway.shutdown(5_000), true, 'the drain waited for the tunnel');
      await closed;
    } finally {
      if (!gw.gateway.draining) await gw.close();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
