import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { FakeClock } from '../../src/lib/clock.js';
import { Backend, startBackends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const KEY = 'sk-http-cache-aaaaaaaaaaaaaaaa';

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' | 'POST' = 'GET') {
  const reply = await req.send(gw, path, { method, headers });
  return { ...reply, cache: req.cacheOf(reply), age: reply.headers.age };
}

describe('HTTP service response cache (GET/HEAD)', () => {
  let api: Backend;
  let gw: TestGateway;
  let counter = 0;
  // Freshness runs on this clock: expiry is tested by advancing it, not by sleeping.
  const clock = new FakeClock(Date.now());
  before(async () => {
    [api] = await startBackends('api');
    api.handler = (req, res) => {
      counter++;
      const url = req.url ?? '/';
      // A slow answer, so concurrent requests overlap.
      setTimeout(() => {
        if (url.startsWith('/api/private')) res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'private, max-age=60' });
        else if (url.startsWith('/api/short')) res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=1' });
        else if (url.startsWith('/api/vary')) res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept-Language' });
        else if (url.startsWith('/api/cookie')) res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'sid=1' });
        else res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ n: counter, url, lang: req.headers['accept-language'] ?? null }));
      }, 100);
    };
    gw = await startGateway({
      keys: [{ name: 'k', key: KEY }],
      auth: { required: false },
      services: [
        { name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: api.url }], cache: { ttl: '5m' }, compression: false },
        { name: 'mine', match: { pathPrefix: '/mine/' }, instances: [{ url: api.url }], rewrite: { replacePrefix: '/api/' }, cache: { ttl: '5m', perPrincipal: true } },
      ],
    }, {}, { clock });
  });
  after(async () => {
    await gw.close();
    await api.stop();
  });

  test('a GET is cached for the TTL and coalesced under concurrency', async () => {
    const before = counter;
    const results = await Promise.all(Array.from({ length: 50 }, () => get(gw, '/api/items?page=1')));
    assert.equal(counter - before, 1, 'one upstream call for 50 concurrent GETs');
    assert.ok(results.every((r) => r.status === 200 && r.text === results[0]!.text));
    assert.equal(results.filter((r) => r.cache === 'miss').length, 1);
    assert.ok(results.some((r) => r.cache === 'coalesced'));
    const hit = await get(gw, '/api/items?page=1');
    assert.equal(hit.cache, 'hit');
    assert.equal(hit.text, results[0]!.text);
    assert.match(String(hit.age), /^\d+$/);
    // Another query string is another resource; HEAD is answered from the GET's entry.
    assert.equal((await get(gw, '/api/items?page=2')).cache, 'miss');
    const head = await get(gw, '/api/items?page=1', {}, 'HEAD');
    assert.equal(head.cache, 'hit');
    assert.equal(head.text, '');
    assert.equal(counter - before, 2);
  });

  test('upstream Cache-Control decides: max-age sets the freshness, private and Set-Cookie are never stored', async () => {
    assert.equal((await get(gw, '/api/short')).cache, 'miss');
    assert.equal((await get(gw, '/api/short')).cache, 'hit');
    clock.advance(999);
    assert.equal((await get(gw, '/api/short')).cache, 'hit', 'max-age=1 still fresh');
    clock.advance(2);
    assert.equal((await get(gw, '/api/short')).cache, 'miss', 'max-age=1 expired');
    await get(gw, '/api/private');
    assert.equal((await get(gw, '/api/private')).cache, 'miss');
    await get(gw, '/api/cookie');
    assert.equal((await get(gw, '/api/cookie')).cache, 'miss');
  });

  test('Vary is honoured; no-store and unsafe methods bypass', async () => {
    const en = await get(gw, '/api/vary', { 'accept-language': 'en' });
    assert.equal((await get(gw, '/api/vary', { 'accept-language': 'en' })).cache, 'hit');
    const fr = await get(gw, '/api/vary', { 'accept-language': 'fr' });
    assert.notEqual(fr.cache, 'hit', 'another language is another variant');
    assert.equal(JSON.parse(fr.text).lang, 'fr');
    assert.equal(JSON.parse(en.text).lang, 'en');
    assert.equal((await get(gw, '/api/items?page=1', { 'cache-control': 'no-store' })).cache, 'bypass');
    const post = await get(gw, '/api/items?page=1', {}, 'POST');
    assert.equal(post.cache, undefined);
  });

  test('authenticated requests bypass unless the service caches per principal, and then never cross principals', async () => {
    assert.equal((await get(gw, '/api/items?page=1', { authorization: `Bearer ${KEY}` })).cache, 'bypass');
    const mine = await get(gw, '/mine/items?page=9', { authorization: `Bearer ${KEY}` });
    assert.equal(mine.cache, 'miss');
    assert.equal((await get(gw, '/mine/items?page=9', { authorization: `Bearer ${KEY}` })).cache, 'hit');
    assert.equal((await get(gw, '/mine/items?page=9')).cache, 'miss', 'anonymous is another tenant');
  });

  test('cache results are counted under the service name', async () => {
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    assert.match(metrics, /sluice_cache_results_total\{route="api",result="hit"\} [1-9]/);
  });
});
