import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedisSentinel, type RedisSentinelGroup } from '../helpers/redis.js';
import * as req from '../helpers/requests.js';

// Issue 20: `state.redis` as Sentinel settings. Two gateways find the master through a local
// sentinel, share limits and the response cache, and follow a failover.

const KEY = 'sk-sentinel-key-0123456789abcdef';
const CACHE_KEY = 'sk-sentinel-cache-0123456789abc';
const LIMIT = 10;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Gateway connections on the server at `port` (everything but the test's own and the sentinel's). */
async function gatewayClients(port: number): Promise<number> {
  const admin = new Redis(port, '127.0.0.1', { connectionName: 'sluice-test', maxRetriesPerRequest: 0 });
  try {
    const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    return list.split('\n').filter((line) => line.trim() !== '' && !/ name=(sluice-test|sentinel-)/.test(line)).length;
  } finally {
    admin.disconnect();
  }
}

describe('two instances sharing a Sentinel-managed Redis, through a failover', { timeout: 180_000 }, () => {
  let group: RedisSentinelGroup;
  let mock: MockServer;
  let gws: TestGateway[] = [];
  const plain = (i: number) => req.chatJson(gws[i % 2]!, { model: 'plain', messages: [{ role: 'user', content: `n${i}` }] }, { bearer: KEY });
  const cached = (i: number, content: string) => req.chat(gws[i % 2]!, { model: 'cached', temperature: 0, messages: [{ role: 'user', content }] }, { bearer: CACHE_KEY });
  const allReady = () => Promise.all(gws.map((gw) => until('the instance is ready', async () => (await req.send(gw, '/ready')).status === 200)));

  before(async () => {
    group = await startRedisSentinel('sluice-main');
    mock = await startMockServer({ port: 0, options: { latencyMs: 100 } });
    const config = {
      // `failure: closed`: while the store cannot answer, limited requests are refused rather
      // than admitted on local limits, so "at most LIMIT" holds through the failover itself.
      state: { redis: { sentinels: group.sentinels, name: group.name }, prefix: 'st:', timeout: '2s', failure: 'closed', checkInterval: '200ms' },
      keys: [
        { name: 'limited', key: KEY, tier: 't' },
        { name: 'cache', key: CACHE_KEY },
      ],
      tiers: { t: { limits: { rpd: LIMIT } } },
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'cached', cache: { ttl: '1h' }, targets: [{ provider: 'up' }] },
        { match: 'plain', targets: [{ provider: 'up' }] },
      ],
    };
    gws = [await startGateway(config), await startGateway(config)];
    await allReady();
  });
  after(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await mock?.close();
    await group?.stop();
  });

  test('/ready says sentinel and healthy, without credentials', async () => {
    for (const gw of gws) {
      const ready = await req.sendJson<{ state: { backend: string; mode: string; healthy: boolean } }>(gw, '/ready');
      assert.equal(ready.status, 200);
      assert.equal(ready.json.state.mode, 'sentinel');
      assert.equal(ready.json.state.backend, 'redis');
    }
  });

  test('limits and the cache hold across both instances, before and after a failover', async () => {
    // Before: part of the allowance, and a cached answer stored by one instance, hit by the other.
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => plain(i)));
    assert.deepEqual(first.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    mock.stats.requests = 0;
    assert.equal(req.cacheOf(await cached(0, 'kept through failover')), 'miss');
    assert.equal(req.cacheOf(await cached(1, 'kept through failover')), 'hit');
    assert.equal(mock.stats.requests, 1);

    const oldMaster = await group.masterPort();
    await group.replicated();
    await group.failover();
    const newMaster = await group.masterPort();
    assert.notEqual(newMaster, oldMaster);
    // The instances follow: their connections leave the demoted server for the new master.
    await until('no gateway connection is left on the old master', async () => (await gatewayClients(oldMaster)) === 0);
    await until('both instances are connected to the new master', async () => (await gatewayClients(newMaster)) >= 4);
    await allReady();

    // After: the counters came across with the data, so the day's allowance is what is left.
    const rest = await Promise.all(Array.from({ length: 10 }, (_, i) => plain(i)));
    assert.equal(rest.filter((r) => r.status === 200).length, LIMIT - 6);
    assert.ok(rest.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.json.error?.code === 'SLUICE_ERR_RATE_LIMITED'));
    // And the cached answer is still shared, from the new master.
    mock.stats.requests = 0;
    assert.equal(req.cacheOf(await cached(0, 'kept through failover')), 'hit');
    assert.equal(req.cacheOf(await cached(1, 'kept through failover')), 'hit');
    // New entries are written to the new master and shared too.
    assert.equal(req.cacheOf(await cached(1, 'after failover')), 'miss');
    assert.equal(req.cacheOf(await cached(0, 'after failover')), 'hit');
    assert.equal(mock.stats.requests, 1);
  });
});
