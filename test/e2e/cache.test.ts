import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { defaultMockOptions } from '../../src/mock/options.js';
import { parseSseText, startGateway, streamText, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const KEY_A = 'sk-cache-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'sk-cache-key-bbbbbbbbbbbbbbbb';

async function chat(gw: TestGateway, key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const reply = await req.chat(gw, { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'rank these brands' }], ...extra }, { bearer: key, headers });
  return { ...reply, cache: req.cacheOf(reply) };
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
    assert.ok(coalesced >= 1, 'requests in flight together were coalesced');
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

  test('temperature above 0 bypasses the cache', async () => {
    assert.equal((await chat(gw, KEY_A, { temperature: 0.7 })).cache, 'bypass');
    const noTemp = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}` },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'default temperature is 1' }] }),
    });
    await noTemp.body.dump();
    assert.equal(noTemp.headers['x-sluice-cache'], 'bypass');
  });

  test('a streamed answer is cached whole and replayed as SSE with [DONE], and serves JSON requests too', async () => {
    mock.stats.requests = 0;
    const body = { stream: true, messages: [{ role: 'user', content: 'stream me once' }] };
    const first = await chat(gw, KEY_A, body);
    assert.equal(first.cache, 'miss');
    const again = await chat(gw, KEY_A, body);
    assert.equal(again.cache, 'hit');
    assert.equal(mock.stats.requests, 1);
    assert.equal(streamText(again.text), streamText(first.text));
    assert.ok(streamText(first.text).length > 10);
    assert.match(again.text, /data: \[DONE\]\n\n$/);
    // The same request without `stream` is served from the cached stream, as a JSON answer.
    const json = await chat(gw, KEY_A, { messages: body.messages });
    assert.equal(json.cache, 'hit');
    const parsed = JSON.parse(json.text) as { object: string; choices: { message: { content: string }; finish_reason: string }[] };
    assert.equal(parsed.object, 'chat.completion');
    assert.equal(parsed.choices[0]!.message.content, streamText(first.text));
    assert.equal(parsed.choices[0]!.finish_reason, 'stop');
    assert.equal(mock.stats.requests, 1);
  });

  test('a cached JSON answer serves a streaming request, with usage when asked', async () => {
    mock.stats.requests = 0;
    const messages = [{ role: 'user', content: 'json first, then a stream' }];
    const json = await chat(gw, KEY_A, { messages });
    assert.equal(json.cache, 'miss');
    const streamed = await chat(gw, KEY_A, { messages, stream: true, stream_options: { include_usage: true } });
    assert.equal(streamed.cache, 'hit');
    const content = (JSON.parse(json.text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    assert.equal(streamText(streamed.text), content);
    const events = parseSseText(streamed.text).filter((e) => e.data !== '[DONE]');
    const last = JSON.parse(events.at(-1)!.data) as { choices: unknown[]; usage: { total_tokens: number } };
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.total_tokens > 0);
    assert.equal(mock.stats.requests, 1);
  });

  test('concurrent identical streams: one upstream call, every follower receives the same text', async () => {
    mock.stats.requests = 0;
    mock.configure({ tokensPerSecond: 200 });
    try {
      const body = { stream: true, messages: [{ role: 'user', content: 'stream to many' }], max_tokens: 40 };
      const results = await Promise.all(Array.from({ length: 30 }, () => chat(gw, KEY_A, body)));
      assert.equal(mock.stats.requests, 1);
      const texts = new Set(results.map((r) => streamText(r.text)));
      assert.equal(texts.size, 1, 'every client got the same text');
      assert.equal(results.filter((r) => r.cache === 'miss').length, 1);
      assert.ok(results.some((r) => r.cache === 'coalesced'));
      assert.ok(results.every((r) => /data: \[DONE\]/.test(r.text)));
    } finally {
      mock.configure({ tokensPerSecond: defaultMockOptions.tokensPerSecond });
    }
  });

  test('cache results are counted per route', async () => {
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    assert.match(metrics, /sluice_cache_results_total\{route="m",result="coalesced"\} \d{2}/);
    assert.match(metrics, /sluice_cache_results_total\{route="m",result="hit"\} [1-9]/);
  });
});

describe('stale-if-error and purge', () => {
  const ADMIN = 'admin-token-for-cache-tests';
  let mock: MockServer;
  let gw: TestGateway;
  // Freshness and the grace run on this clock: a loaded machine cannot age an entry past them.
  const clock = new FakeClock();
  before(async () => {
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      keys: [{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_B }],
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'm', cache: { ttl: '300ms', staleIfError: '1500ms' }, retry: { attempts: 0 }, breaker: { enabled: false }, targets: [{ provider: 'up' }] },
        { match: 'p', cache: { ttl: '1h', namespace: 'brands' }, targets: [{ provider: 'up' }] },
      ],
    }, {}, { clock });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('a stale answer is served when every target fails, within the grace and not after', async () => {
    const body = { messages: [{ role: 'user', content: 'stale if error' }] };
    const fresh = await chat(gw, KEY_A, body);
    assert.equal(fresh.cache, 'miss');
    clock.advance(400);
    mock.configure({ status: 503 });
    try {
      const stale = await chat(gw, KEY_A, body);
      assert.equal(stale.status, 200);
      assert.equal(stale.cache, 'stale');
      assert.equal(stale.text, fresh.text);
      // A stream asked for in the same state is served from the stale entry too.
      const streamed = await chat(gw, KEY_A, { ...body, stream: true });
      assert.equal(streamed.cache, 'stale');
      assert.match(streamed.text, /\[DONE\]/);
      clock.advance(1500);
      const expired = await chat(gw, KEY_A, body);
      assert.equal(expired.status, 503, 'past the grace the error is the answer');
      assert.equal(expired.cache, 'miss');
    } finally {
      mock.configure({ status: null });
    }
    // Upstream back: a fresh answer replaces the entry.
    assert.equal((await chat(gw, KEY_A, body)).cache, 'miss');
    assert.equal((await chat(gw, KEY_A, body)).cache, 'hit');
  });

  async function purge(body: unknown, token = ADMIN) {
    const res = await request(`${gw.url}/admin/cache/purge`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json()) as { purged?: number; error?: { code: string } } };
  }

  test('purge by tenant leaves other tenants; purge by namespace clears it; bad purges are refused', async () => {
    const body = { model: 'p', messages: [{ role: 'user', content: 'purge me' }] };
    await chat(gw, KEY_A, body);
    await chat(gw, KEY_B, body);
    assert.equal((await chat(gw, KEY_A, body)).cache, 'hit');
    assert.equal((await purge({ namespace: 'brands', key: 'config:a' })).body.purged, 1);
    assert.equal((await chat(gw, KEY_A, body)).cache, 'miss');
    assert.equal((await chat(gw, KEY_B, body)).cache, 'hit', 'the other tenant kept its entry');
    assert.equal((await purge({ namespace: 'brands' })).body.purged, 2);
    assert.equal((await chat(gw, KEY_B, body)).cache, 'miss');
    assert.equal((await purge({ namespace: 'brands', version: 7 })).body.purged, 0, 'nothing under another version');
    assert.equal((await purge({ namespace: 'brands' }, KEY_A)).status, 401);
    const bad = await purge({ version: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
    assert.equal((await purge({ key: 'a', user: 'u' })).status, 400);
  });
});

describe('semantic cache', () => {
  let mock: MockServer;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockServer({ port: 0 });
    const semantic = { provider: 'up', model: 'text-embedding-3-small', threshold: 0.9 };
    gw = await startGateway({
      keys: [{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_B }],
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'sem', cache: { ttl: '1h', semantic }, targets: [{ provider: 'up' }] },
        { match: 'sem-other', cache: { ttl: '1h', semantic }, targets: [{ provider: 'up', model: 'sem' }] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const ask = (key: string, content: string, model = 'sem') => chat(gw, key, { model, messages: [{ role: 'user', content }] });
  const original = 'which three brands of running shoes rank best for comfort this year';

  test('a similar prompt above the threshold is a hit; below it, a miss', async () => {
    const first = await ask(KEY_A, original);
    assert.equal(first.cache, 'miss');
    mock.stats.requests = 0;
    // One word more: cosine 9/sqrt(9*10) ≈ 0.95 with the mock's bag-of-words embeddings.
    const close = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
      body: JSON.stringify({ model: 'sem', temperature: 0, messages: [{ role: 'user', content: `${original} please` }] }),
    });
    assert.equal(close.headers['x-sluice-cache'], 'hit');
    const similarity = Number(close.headers['x-sluice-cache-similarity']);
    assert.ok(similarity >= 0.9 && similarity < 1, `similarity ${similarity}`);
    assert.equal(await close.body.text(), first.text);
    // Only the embedding call went upstream, no chat completion.
    assert.equal(mock.stats.requests, 1);
    // Three words replaced: well below the threshold.
    const far = await ask(KEY_A, 'which three brands of hiking boots rank best for grip');
    assert.equal(far.cache, 'miss');
    assert.notEqual(far.text, first.text);
  });

  test('never across tenants or namespaces', async () => {
    assert.equal((await ask(KEY_B, original)).cache, 'miss', 'another key has its own index bucket');
    assert.equal((await ask(KEY_A, original, 'sem-other')).cache, 'miss', 'another namespace never matches');
    assert.equal((await ask(KEY_A, `${original} please`, 'sem-other')).cache, 'hit', 'within its own namespace it does');
  });

  test('parameters other than the prompt must be equal', async () => {
    const r = await chat(gw, KEY_A, { model: 'sem', max_tokens: 5, messages: [{ role: 'user', content: `${original} please` }] });
    assert.equal(r.cache, 'miss');
  });
});
