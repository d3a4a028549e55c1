import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { defaultMockOptions } from '../../src/mock/options.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, streamText, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-cache-redis-aaaaaaaaaaaaaaaa';

async function chat(gw: TestGateway, extra: Record<string, unknown> = {}) {
  const reply = await req.chat(gw, { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'across instances' }], ...extra }, { bearer: KEY });
  return { ...reply, cache: req.cacheOf(reply) };
}


describe('response cache shared through Redis by two instances', () => {
  let redis: RedisServer;
  let mock: MockServer;
  let a: TestGateway;
  let b: TestGateway;
  let bumped: TestGateway;
  before(async () => {
    redis = await startRedis();
    mock = await startMockServer({ port: 0, options: { latencyMs: 300 } });
    const config = (version: number) => ({
      state: { redis: redis.url },
      keys: [{ name: 'a', key: KEY }],
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [{ match: 'm', cache: { ttl: '1h', version }, targets: [{ provider: 'up' }] }],
    });
    a = await startGateway(config(1));
    b = await startGateway(config(1));
    bumped = await startGateway(config(2));
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), bumped.close()]);
    await mock.close();
    await redis.stop();
  });

  test('100 concurrent identical requests over two instances make exactly one upstream call', async () => {
    mock.stats.requests = 0;
    const body = { messages: [{ role: 'user', content: 'one call for all' }] };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(i % 2 === 0 ? a : b, body)));
    assert.equal(mock.stats.requests, 1);
    assert.ok(results.every((r) => r.status === 200 && r.text === results[0]!.text));
    assert.equal(results.filter((r) => r.cache === 'miss').length, 1);
    const fromB = results.filter((_, i) => i % 2 === 1);
    assert.ok(fromB.some((r) => r.cache === 'coalesced'), 'the other instance followed the leader');
    // Later requests on either instance hit the shared entry.
    assert.equal((await chat(a, body)).cache, 'hit');
    assert.equal((await chat(b, body)).cache, 'hit');
    assert.equal(mock.stats.requests, 1);
  });

  test('streaming followers on the other instance receive the leader\'s chunks; the replay matches', async () => {
    mock.stats.requests = 0;
    mock.configure({ tokensPerSecond: 100 });
    try {
      const body = { stream: true, max_tokens: 30, messages: [{ role: 'user', content: 'stream across instances' }] };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 === 0 ? a : b, body)));
      assert.equal(mock.stats.requests, 1);
      const texts = new Set(results.map((r) => streamText(r.text)));
      assert.equal(texts.size, 1);
      assert.ok([...texts][0]!.length > 10);
      assert.ok(results.every((r) => r.text.endsWith('data: [DONE]\n\n')));
      const replay = await chat(b, body);
      assert.equal(replay.cache, 'hit');
      assert.equal(streamText(replay.text), [...texts][0]);
      // And as JSON, on the other instance.
      const json = await chat(a, { messages: body.messages, max_tokens: 30 });
      assert.equal(json.cache, 'hit');
      assert.equal((JSON.parse(json.text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, [...texts][0]);
      assert.equal(mock.stats.requests, 1);
    } finally {
      mock.configure({ tokensPerSecond: defaultMockOptions.tokensPerSecond });
    }
  });

  test('a version bump misses without any purge', async () => {
    const body = { messages: [{ role: 'user', content: 'versioned' }] };
    assert.equal((await chat(a, body)).cache, 'miss');
    assert.equal((await chat(b, body)).cache, 'hit');
    assert.equal((await chat(bumped, body)).cache, 'miss');
  });

  test('with Redis down, requests are served as misses and nothing fails', async () => {
    await redis.stop();
    try {
      const r = await chat(a, { messages: [{ role: 'user', content: 'redis is down' }] });
      assert.equal(r.status, 200);
      assert.equal(r.cache, 'miss');
    } finally {
      await redis.restart();
    }
  });
});

/** An upstream that holds its first request until `release()`, then answers at once; counts calls. */
async function heldUpstream(): Promise<{ url: string; calls: () => number; release: () => void; close: () => Promise<void> }> {
  let calls = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    calls++;
    req.resume();
    req.on('end', () => {
      void released.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'held answer' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, calls: () => calls, release, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('coalescing across instances right after the leader answers (issue 15)', () => {
  test('regression: a follower whose cache read came just before the entry was stored makes no second upstream call', async () => {
    const redis = await startRedis();
    const upstream = await heldUpstream();
    const admin = new Redis(redis.url);
    const config = {
      state: { redis: redis.url },
      cache: { timeout: '5s' },
      keys: [{ name: 'a', key: KEY }],
      providers: { up: { type: 'openai', baseUrl: upstream.url } },
      routes: [{ match: 'm', cache: { ttl: '1h' }, targets: [{ provider: 'up' }] }],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    try {
      const body = { messages: [{ role: 'user', content: 'just after the answer' }] };
      const leader = chat(a, body);
      while (upstream.calls() === 0) await new Promise((r) => setTimeout(r, 10));
      // Writes wait (reads do not) while Redis is paused: the leader's answer reaches its client
      // with the entry's SET and the lock's release queued, and the follower's cache read
      // misses just before them. This is the window a follower 20 ms behind can land in.
      await admin.client('PAUSE', 500, 'WRITE');
      upstream.release();
      const first = await leader;
      const second = await chat(b, body);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(upstream.calls(), 1, 'one upstream call');
      assert.equal(second.cache, 'hit');
      assert.equal(JSON.parse(second.text).choices[0].message.content, 'held answer');
    } finally {
      await Promise.all([a.close(), b.close()]);
      admin.disconnect();
      await upstream.close();
      await redis.stop();
    }
  });
});

describe('HTTP service answers coalesced across instances through Redis (issue 22, seed 003)', () => {
  test('regression: 40 concurrent cold GETs over two instances reached the API once per instance; now once in all', async () => {
    const redis = await startRedis();
    let reads = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const api = createServer((_r, res) => {
      reads++;
      // Held until every request has arrived at a gateway, so all 40 overlap the one read.
      void released.then(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', vary: 'accept-language' });
        res.end(JSON.stringify({ id: 7, price: 12.5 }));
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const config = {
      state: { redis: redis.url },
      cache: { backend: 'redis' },
      services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: `http://127.0.0.1:${(api.address() as AddressInfo).port}` }], cache: { ttl: '5m' } }],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    try {
      // One public name in front of both instances (the cache key has the Host).
      const get = (gw: TestGateway, lang = 'en') => req.send(gw, '/api/v1/products/7', { headers: { 'accept-language': lang, host: 'shop.example' } });
      const pending = Array.from({ length: 40 }, (_, i) => get(i % 2 === 0 ? a : b));
      // The API answers once the other instance follows the first one's flight (a blocked
      // XREAD on Redis), or once it has read the API a second time (what the bug did).
      const probe = new Redis(redis.url);
      const blocked = async () => Number(/blocked_clients:(\d+)/.exec(await probe.info('clients'))?.[1] ?? 0);
      await waitFor(async () => reads >= 2 || (reads >= 1 && (await blocked()) >= 1), 'a follower on the other instance, or a second read');
      probe.disconnect();
      release();
      const results = await Promise.all(pending);
      assert.equal(reads, 1, 'one read of the API for all 40 requests');
      assert.ok(results.every((r) => r.status === 200 && r.text === '{"id":7,"price":12.5}'));
      const marks = results.map(req.cacheOf);
      assert.equal(marks.filter((m) => m === 'miss').length, 1, marks.join(','));
      assert.ok(marks.filter((_, i) => i % 2 === 1).every((m) => m === 'coalesced' || m === 'hit' || m === 'miss'));
      // A request whose Vary header differs is not served the shared answer.
      assert.equal(req.cacheOf(await get(b, 'de')), 'miss');
      assert.equal(reads, 2);
      // (One variant is kept per URL: the latest, here the German one, now shared by both instances.)
      assert.equal(req.cacheOf(await get(a, 'de')), 'hit');
    } finally {
      await Promise.all([a.close(), b.close()]);
      api.close();
      await redis.stop();
    }
  });
});
