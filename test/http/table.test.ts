import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { ConfigError, parseConfigText, validateConfig } from '../../src/config/load.js';
import { Ring, cookieValue } from '../../src/http/balancer.js';
import { chooseEncoding, shouldCompress } from '../../src/http/compress.js';
import { endToEnd, rewritePath } from '../../src/http/headers.js';
import type { InstanceState } from '../../src/http/instance.js';
import { ServiceTable } from '../../src/http/table.js';

const entry = (pathPrefix: string, host: string | null = null, methods: string[] | null = null) => ({ service: { host, pathPrefix, methods: methods === null ? null : new Set(methods) }, id: `${host ?? '*'}${pathPrefix}${methods?.join() ?? ''}` });

describe('service matching', () => {
  const table = new ServiceTable([entry('/'), entry('/api/'), entry('/api/', 'api.example.com'), entry('/api/admin', null, ['GET']), entry('/v1/models'), entry('/admin/')]);
  const m = (url: string, host = 'gw.local:8787', method = 'GET') => table.match(host, url, method)?.id ?? null;

  test('the most specific service wins: host first, then the longest prefix', () => {
    assert.equal(m('/api/users'), '*/api/');
    assert.equal(m('/api/users', 'API.example.com:443'), 'api.example.com/api/');
    assert.equal(m('/api/admin/x'), '*/api/adminGET');
    assert.equal(m('/api/admin/x', 'gw', 'POST'), '*/api/', 'a method filter falls through');
    assert.equal(m('/api/administrator'), '*/api/', '/api/admin does not cover /api/administrator');
    assert.equal(m('/other?x=1'), '*/');
  });

  test("Sluice's own endpoints stay Sluice's unless a service names them", () => {
    for (const own of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/messages', '/health', '/ready', '/metrics', '/metrics?x=1']) assert.equal(m(own), null, own);
    assert.equal(m('/v1/models'), '*/v1/models');
    assert.equal(m('/admin/keys'), '*/admin/');
    assert.equal(m('/v1/other'), '*/');
  });

  test('no services: nothing matches', () => {
    assert.equal(new ServiceTable([]).match('x', '/', 'GET'), null);
  });
});

describe('forwarding helpers', () => {
  test('rewritePath strips or replaces the prefix and adds the base path, keeping the query', () => {
    assert.equal(rewritePath('/api/users?x=1', '/api/', null, ''), '/api/users?x=1');
    assert.equal(rewritePath('/api/users?x=1', '/api/', '/', ''), '/users?x=1');
    assert.equal(rewritePath('/api/users', '/api', '/', ''), '/users');
    assert.equal(rewritePath('/api', '/api', '/', ''), '/');
    assert.equal(rewritePath('/api?q', '/api', '/', ''), '/?q');
    assert.equal(rewritePath('/old/a/b', '/old/', '/new/v2/', ''), '/new/v2/a/b');
    assert.equal(rewritePath('/old/a', '/old/', '/new', ''), '/new/a');
    assert.equal(rewritePath('/x/y', '/x/', null, '/base'), '/base/x/y');
  });

  test('endToEnd drops hop-by-hop headers and those the Connection header names', () => {
    const out = endToEnd({ connection: 'X-Private, close', 'x-private': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-authorization': 'x', 'content-type': 'text/plain', 'x-kept': 'y' });
    assert.deepEqual(out, { 'content-type': 'text/plain', 'x-kept': 'y' });
  });

  test('chooseEncoding follows Accept-Encoding and its q-values', () => {
    assert.equal(chooseEncoding(undefined), null);
    assert.equal(chooseEncoding('gzip, deflate, br'), 'br');
    assert.equal(chooseEncoding('gzip'), 'gzip');
    assert.equal(chooseEncoding('br;q=0, gzip;q=0.5'), 'gzip');
    assert.equal(chooseEncoding('identity'), null);
    assert.equal(chooseEncoding('*'), 'br');
    assert.equal(chooseEncoding('*;q=0'), null);
  });

  test('shouldCompress: only unencoded, compressible, big enough answers', () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    assert.equal(shouldCompress('GET', 200, json, 1024), true, 'unknown length');
    assert.equal(shouldCompress('GET', 200, { ...json, 'content-length': '100' }, 1024), false);
    assert.equal(shouldCompress('HEAD', 200, json, 0), false);
    assert.equal(shouldCompress('GET', 304, json, 0), false);
    assert.equal(shouldCompress('GET', 200, { ...json, 'content-encoding': 'gzip' }, 0), false);
    assert.equal(shouldCompress('GET', 200, { 'content-type': 'image/png' }, 0), false);
    assert.equal(shouldCompress('GET', 200, { 'content-type': 'application/vnd.api+json' }, 0), true);
    assert.equal(shouldCompress('GET', 200, { ...json, 'cache-control': 'public, no-transform' }, 0), false);
  });

  test('cookieValue reads one cookie of a Cookie header', () => {
    assert.equal(cookieValue('a=1; sticky=abc; b=2', 'sticky'), 'abc');
    assert.equal(cookieValue('a=1', 'sticky'), null);
    assert.equal(cookieValue(undefined, 'sticky'), null);
    assert.equal(cookieValue('sticky=', 'sticky'), null);
  });
});

describe('consistent-hash ring', () => {
  const fake = (url: string, weight = 1) => ({ config: { url }, weight }) as unknown as InstanceState;
  const always = (): boolean => true;

  test('losing an instance moves only the keys it owned', () => {
    const [x, y, z] = [fake('http://x'), fake('http://y'), fake('http://z')];
    const full = new Ring([x!, y!, z!]);
    const keys = Array.from({ length: 600 }, (_, i) => `user-${i}`);
    const before = new Map(keys.map((k) => [k, full.owner(k, always)!]));
    const counts = new Map<InstanceState, number>();
    for (const o of before.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
    for (const n of counts.values()) assert.ok(n > 120 && n < 280, `uneven spread: ${[...counts.values()].join(', ')}`);
    // z unavailable: its keys go elsewhere, everyone else's stay.
    const withoutZ = (i: InstanceState | undefined): boolean => i !== z;
    for (const k of keys) {
      const now = full.owner(k, withoutZ)!;
      if (before.get(k) !== z) assert.equal(now, before.get(k), `${k} moved`);
      else assert.notEqual(now, z);
    }
    assert.equal(full.owner('k', () => false), null);
  });

  test('weights scale the share of keys', () => {
    const [heavy, light] = [fake('http://heavy', 3), fake('http://light', 1)];
    const ring = new Ring([heavy!, light!]);
    let onHeavy = 0;
    for (let i = 0; i < 1000; i++) if (ring.owner(`k${i}`, always) === heavy) onHeavy++;
    assert.ok(onHeavy > 650 && onHeavy < 850, `heavy got ${onHeavy} of 1000`);
  });
});

describe('services config', () => {
  const problems = (services: unknown[]): string[] => {
    try {
      validateConfig({ services }, 'test', {});
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
    return [];
  };

  test('bad entries are reported with their path and a reason', () => {
    const base = { name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: 'http://127.0.0.1:9000' }] };
    assert.deepEqual(problems([base]), []);
    assert.match(problems([{ ...base, match: { pathPrefix: 'api' } }]).join(), /services\[0\]\.match\.pathPrefix: must start with "\/"/);
    assert.match(problems([{ ...base, instances: [{ url: 'ftp://x' }] }]).join(), /services\[0\]\.instances\[0\]\.url/);
    assert.match(problems([{ ...base, instances: [] }]).join(), /services\[0\]\.instances/);
    assert.match(problems([{ ...base, instances: [{ url: 'http://user:pw@10.0.0.1/' }] }]).join(), /services\[0\]\.instances\[0\]\.url: must not contain credentials/);
    assert.match(problems([{ ...base, balance: { strategy: 'consistent-hash' } }]).join(), /services\[0\]\.balance\.hashOn: consistent-hash needs hashOn/);
    assert.match(problems([{ ...base, balance: { strategy: 'consistent-hash', hashOn: { source: 'cookie' } } }]).join(), /hashOn\.name: hashing on a cookie needs its name/);
    assert.match(problems([{ ...base, balance: { sticky: { cookie: 'a', header: 'b' } } }]).join(), /services\[0\]\.balance\.sticky: set exactly one of cookie or header/);
    assert.match(problems([{ ...base, rewrite: { stripPrefix: true, replacePrefix: '/x/' } }]).join(), /services\[0\]\.rewrite: set stripPrefix or replacePrefix, not both/);
    assert.match(problems([base, base]).join(), /services\[1\]\.name: duplicate service name "api"/);
    assert.match(problems([{ ...base, balance: { strategy: 'cost' } }]).join(), /services\[0\]\.balance\.strategy/);
  });

  test('defaults compile to the documented values', () => {
    const config = compileConfig(validateConfig({ services: [{ name: 'api', match: {}, instances: [{ url: 'http://10.0.0.1:8000/base/' }], retry: { methods: ['get', 'post'] } }] }, 'test', {}), 'test');
    const s = config.services[0]!;
    assert.equal(s.pathPrefix, '/');
    assert.equal(s.balance.strategy, 'weighted');
    assert.deepEqual([...s.retry.methods], ['GET', 'POST']);
    assert.deepEqual([...s.retry.on], [502, 503, 504]);
    assert.deepEqual(s.instances[0], { origin: 'http://10.0.0.1:8000', host: '10.0.0.1:8000', basePath: '/base', url: 'http://10.0.0.1:8000/base/', weight: 1 });
    assert.equal(s.compressMinBytes, 1024);
    assert.equal(s.websocket, false);
    assert.equal(s.authRequired, null);
  });

  test("the worked example in docs/http-routes.md is a valid config (seed 001's load balancer)", () => {
    const doc = readFileSync(new URL('../../../docs/http-routes.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const config = compileConfig(parseConfigText(yaml, 'http-routes.md', { REDIS_URL: 'redis://127.0.0.1:6379', OPENAI_API_KEY: 'sk-test' }), 'test');
    const s = config.services[0]!;
    assert.deepEqual(s.healthCheck, { path: '/api/v1/health', intervalMs: 30_000, timeoutMs: 10_000, healthyThreshold: 2, unhealthyThreshold: 3 });
    assert.deepEqual(s.balance.sticky, { kind: 'cookie', name: 'upswitch_backend', ttlMs: 1_800_000 });
  });
});
