import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import * as req from '../helpers/requests.js';

// Issue 20: `state.redis` as a list of URLs is a Redis Cluster. Two gateways share limits and
// the response cache through a local three-node cluster, whose keys spread over the nodes.

const KEY = 'sk-cluster-key-0123456789abcdef';
const CACHE_KEY = 'sk-cluster-cache-0123456789abcd';
const ADMIN = 'admin-token-cluster-0123456789';
const LIMIT = 20;

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('two instances sharing a three-node Redis Cluster', { timeout: 120_000 }, () => {
  let cluster: RedisCluster;
  let mock: MockServer;
  let gws: TestGateway[] = [];
  before(async () => {
    cluster = await startRedisCluster(3);
    mock = await startMockServer({ port: 0, options: { latencyMs: 300 } });
    const config = (redis: readonly string[]) => ({
      // One instance lists every node; the other one node only, and discovers the rest.
      state: { redis, prefix: 'cl:', timeout: '2s' },
      admin: { tokens: [ADMIN] },
      database: { embedded: 'memory' },
      keys: [
        { name: 'shared', key: KEY, tier: 't' },
        { name: 'cache', key: CACHE_KEY },
      ],
      tiers: { t: { limits: { rpd: LIMIT } } },
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'cached', cache: { ttl: '1h' }, targets: [{ provider: 'up' }] },
        { match: 'plain', targets: [{ provider: 'up' }] },
      ],
    });
    gws = [await startGateway(config(cluster.urls)), await startGateway(config([cluster.urls[1]!]))];
    // Ready once the cluster has answered (the slot map fetched, a first PING).
    await Promise.all(gws.map((gw) => until(async () => (await req.send(gw, '/ready')).status === 200)));
    // The response cache has a Redis client of its own, which can still be discovering the
    // cluster's slots after /ready (a loaded machine: its calls fail and count as misses):
    // wait until each instance stores an answer and reads it back.
    for (const [i, gw] of gws.entries()) {
      const warm = { model: 'cached', temperature: 0, messages: [{ role: 'user', content: `warm-up ${i}` }] };
      await until(async () => {
        await req.chat(gw, warm, { bearer: CACHE_KEY });
        return req.cacheOf(await req.chat(gw, warm, { bearer: CACHE_KEY })) === 'hit';
      });
    }
    assert.equal((await req.sendJson(gws[0]!, '/admin/cache/purge', { body: {}, bearer: ADMIN })).status, 200, 'the tests start from an empty cache');
  });
  after(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await mock?.close();
    await cluster?.stop();
  });

  test('/ready says cluster and healthy', async () => {
    for (const gw of gws) {
      const ready = await req.sendJson<{ state: { backend: string; mode: string; healthy: boolean } }>(gw, '/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual({ ...ready.json.state, error: undefined }, { backend: 'redis', mode: 'cluster', healthy: true, error: undefined });
    }
  });

  test('the response cache is shared: 20 concurrent identical requests over both instances make one upstream call, and a purge reaches every node', async () => {
    mock.stats.requests = 0;
    const body = { model: 'cached', temperature: 0, messages: [{ role: 'user', content: 'one call across the cluster' }] };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => req.chat(gws[i % 2]!, body, { bearer: CACHE_KEY })));
    assert.ok(results.every((r) => r.status === 200 && r.text === results[0]!.text));
    // The claim transaction (lock and entry) runs in one slot: without the hash tag it is a
    // CROSSSLOT error and each instance calls upstream itself.
    assert.equal(mock.stats.requests, 1);
    assert.ok(results.filter((_, i) => i % 2 === 1).some((r) => req.cacheOf(r) === 'coalesced'), 'the other instance followed the leader');
    assert.equal(req.cacheOf(await req.chat(gws[1]!, body, { bearer: CACHE_KEY })), 'hit');

    // More entries, so they land on several nodes; then one purge removes them all.
    for (let i = 0; i < 12; i++) assert.equal((await req.chat(gws[i % 2]!, { ...body, messages: [{ role: 'user', content: `entry ${i}` }] }, { bearer: CACHE_KEY })).status, 200);
    const admin = new Cluster(cluster.urls.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })));
    try {
      await new Promise((resolve) => admin.once('ready', resolve));
      assert.equal(admin.nodes('master').length, 3);
      const perNode = await Promise.all(admin.nodes('master').map(async (n) => (await n.keys('cl:cache:{*')).length));
      assert.equal(perNode.reduce((a, b) => a + b, 0), 13);
      assert.ok(perNode.filter((n) => n > 0).length >= 2, `entries spread over the nodes: ${perNode.join(', ')}`);
      const purge = await req.sendJson<{ purged: number }>(gws[0]!, '/admin/cache/purge', { body: {}, bearer: ADMIN });
      assert.equal(purge.status, 200);
      assert.equal(purge.json.purged, 13);
      assert.equal((await Promise.all(admin.nodes('master').map((n) => n.keys('cl:cache:{*')))).flat().length, 0);
    } finally {
      admin.disconnect();
    }
    assert.equal(req.cacheOf(await req.chat(gws[0]!, body, { bearer: CACHE_KEY })), 'miss');
  });

  test(`a key limited to ${LIMIT} a day gets exactly ${LIMIT} of 60 concurrent requests over both instances`, async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => req.chatJson(gws[i % 2]!, { model: 'plain', messages: [{ role: 'user', content: `n${i}` }] }, { bearer: KEY })));
    assert.equal(results.filter((r) => r.status === 200).length, LIMIT);
    assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.json.error?.code === 'SLUICE_ERR_RATE_LIMITED'));
  });
});
