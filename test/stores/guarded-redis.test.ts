import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { FakeClock, systemClock } from '../../src/lib/clock.js';
import { createStateStore, GuardedStore, MemoryStore, StoreUnavailableError, type StoreStatus } from '../../src/stores/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { rule } from './contract.js';

/** Polls `condition` every 20 ms (real time: Redis reconnects in real time) for at most `ms`. */
async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function guarded(server: RedisServer, failure: 'open' | 'closed', prefix: string, startupWaitMs = 5000): GuardedStore {
  const store = createStateStore({ redis: { mode: 'standalone', url: server.url }, prefix, failure, retryMs: 100, timeoutMs: 500, startupWaitMs, clock: systemClock });
  assert.ok(store instanceof GuardedStore);
  return store;
}

describe('createStateStore over a real redis-server that dies and comes back', { timeout: 30_000 }, () => {
  let server: RedisServer;
  let admin: Redis;
  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    admin.on('error', () => {});
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });

  test('open: decides from the fallback while Redis is down, reports it, and recovers by itself', async () => {
    const store = guarded(server, 'open', 'open:');
    await waitFor(() => store.status().healthy, 5000, 'the first answer');
    const changes: StoreStatus[] = [];
    store.onChange((s) => changes.push(s));
    try {
      const r = rule('k', 3, 60_000);
      assert.equal((await store.consume([r], [1]))[0]!.remaining, 2);
      assert.equal(await admin.exists('open:{k}:gcra'), 1, 'decided in Redis');
      await server.kill();
      // Killed mid-window: the fallback starts empty and then limits exactly, per instance.
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push((await store.consume([r], [1]))[0]!.allowed);
      assert.deepEqual(decisions, [true, true, true, false]);
      assert.equal(store.status().healthy, false);
      assert.ok(store.status().lastError !== null);
      assert.deepEqual(changes.map((c) => c.healthy), [false]);
      await assert.rejects(store.ping(), StoreUnavailableError);

      await server.restart();
      await waitFor(() => store.status().healthy, 5000, 'recovery');
      assert.deepEqual(changes.map((c) => c.healthy), [false, true]);
      await waitFor(() => admin.status === 'ready', 5000, 'the admin client');
      // The restarted Redis is empty: the bucket starts full again, and decisions are shared.
      assert.equal((await store.consume([r], [1]))[0]!.remaining, 2);
      assert.equal(await admin.exists('open:{k}:gcra'), 1, 'decided in Redis again');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  test('closed: rejects with StoreUnavailableError while Redis is down, and recovers by itself', async () => {
    const store = guarded(server, 'closed', 'closed:');
    try {
      const r = rule('k', 3, 60_000);
      assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
      await server.kill();
      await assert.rejects(store.consume([r], [1]), StoreUnavailableError);
      await assert.rejects(store.add('usd', 1, 60_000), StoreUnavailableError);
      assert.equal(store.status().healthy, false);
      await server.restart();
      await waitFor(() => store.status().healthy, 5000, 'recovery');
      assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
      assert.equal(await store.add('usd', 1, 60_000), 1);
    } finally {
      await store.close();
    }
  });

  test('starting while Redis is down: the first calls follow the policy, then it recovers', async () => {
    await server.stop();
    const store = guarded(server, 'open', 'late:', 200);
    try {
      // After startupWaitMs without an answer, the policy applies.
      assert.equal((await store.consume([rule('k', 1, 1000)], [1]))[0]!.allowed, true);
      assert.equal(store.status().healthy, false);
      await server.restart();
      await waitFor(() => store.status().healthy, 5000, 'recovery');
    } finally {
      await store.close();
    }
  });
});

describe('createStateStore', () => {
  test('without redis it is the in-process store', async () => {
    const store = createStateStore({ clock: new FakeClock() });
    assert.ok(store instanceof MemoryStore);
    await store.close();
  });

  test('checks its options at construction', () => {
    const clock = new FakeClock();
    assert.throws(() => createStateStore({ clock, redis: { mode: 'standalone', url: 'http://localhost:6379' } }), TypeError);
    assert.throws(() => createStateStore({ clock, redis: { mode: 'cluster', nodes: [], username: null, password: null, tls: false } }), TypeError);
    assert.throws(() => createStateStore({ clock, redis: { mode: 'standalone', url: 'redis://127.0.0.1:1' }, timeoutMs: 0 }), RangeError);
    assert.throws(() => createStateStore({ clock, redis: { mode: 'standalone', url: 'redis://127.0.0.1:1' }, failure: 'maybe' as 'open' }), TypeError);
  });
});
