import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY_A = 'sk-cache-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'sk-cache-key-bbbbbbbbbbbbbbbb';

async function chat(gw: TestGateway, key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'rank these brands' }], ...extra }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, cache: res.headers['x-sluice-cache'], text };
}

describe('exact response cache with coalescing (in-process)', () => {
  let mock: MockServer;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockServer({ port: 0, options: { latencyMs: 150 } });
    gw = await startGateway({
      keys: [{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_B }],
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'm', cache: { ttl: '7d' }, targets: [{ provider: 'up' }] },
        { match: 'shared', cache: { ttl: '5m', scope: 'shared' }, targets: [{ provider: 'up' }] },
        { match: 'short', cache: { ttl: '1h', clientTtl: true }, targets: [{ provider: 'up' }] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('100 concurrent identical requests make exactly one upstream call', async () => {
    mock.stats.requests = 0;
    const results = await Promise.all(Array.from({ length: 100 }, () => chat(gw, KEY_A, { messages: [{ role: 'user', content: 'coalesce me' }] })));
    assert.equal(mock.stats.requests, 1);
    assert.ok(results.every((r) => r.status === 200 && r.text === results[0]!.text));
    assert.equal(results.filter((r) => r.cache === 'miss').length, 1);
    // Followers that arrive while the leader is upstream are coalesced; on a slow machine the
    // last may arrive after it answered and hit the cache instead. Never a second call.
    const coalesced = results.filter((r) => r.cache === 'coalesced').length;
    assert.equal(coalesced + results.filter((r) => r.cache === 'hit').length, 99);
    assert.ok(coalesced >= 50, `only ${coalesced} coalesced`);
    const again = await chat(gw, KEY_A, { messages: [{ role: 'user', content: 'coalesce me' }] });
    assert.equal(again.cache, 'hit');
    assert.equal(again.text, results[0]!.text);
    assert.equal(mock.stats.requests, 1);
  });

  test('no cross-tenant hit: two keys, same prompt, two upstream calls', async () => {
    mock.stats.requests = 0;
    assert.equal((await chat(gw, KEY_A, { messages: [{ role: 'user', content: 'tenant test' }] })).cache, 'miss');
    assert.equal((await chat(gw, KEY_B, { messages: [{ role: 'user', content: 'tenant test' }] })).cache, 'miss');
    assert.equal(mock.stats.requests, 2);
    // A route that opts into a shared cache does share.
    assert.equal((await chat(gw, KEY_A, { model: 'shared' })).cache, 'miss');
    assert.equal((await chat(gw, KEY_B, { model: 'shared' })).cache, 'hit');
  });

  test('no-store is not cached; no-cache goes upstream and refreshes', async () => {
    mock.stats.requests = 0;
    const body = { messages: [{ role: 'user', content: 'directives' }] };
    assert.equal((await chat(gw, KEY_A, body, { 'cache-control': 'no-store' })).cache, 'bypass');
    assert.equal((await chat(gw, KEY_A, body)).cache, 'miss', 'no-store stored nothing');
    assert.equal((await chat(gw, KEY_A, body, { 'cache-control': 'no-cache' })).cache, 'miss');
    assert.equal((await chat(gw, KEY_A, body)).cache, 'hit');
    assert.equal(mock.stats.requests, 3, 'no-store, the first miss and no-cache each went upstream');
  });

  test('temperature above 0 and streams bypass the cache', async () => {
    assert.equal((await chat(gw, KEY_A, { temperature: 0.7 })).cache, 'bypass');
    const noTemp = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}` },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'default temperature is 1' }] }),
    });
    await noTemp.body.dump();
    assert.equal(noTemp.headers['x-sluice-cache'], 'bypass');
    const streamed = await chat(gw, KEY_A, { stream: true });
    assert.equal(streamed.cache, 'bypass');
    assert.match(streamed.text, /\[DONE\]/);
  });

  test('cache results are counted per route', async () => {
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    assert.match(metrics, /sluice_cache_results_total\{route="m",result="coalesced"\} \d{2}/);
    assert.match(metrics, /sluice_cache_results_total\{route="m",result="hit"\} [1-9]/);
  });
});
