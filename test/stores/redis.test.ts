import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { FakeClock, systemClock } from '../../src/lib/clock.js';
import { RedisStore, KEY_TTL_SLACK_MS } from '../../src/stores/redis.js';
import { StoreTimeoutError } from '../../src/stores/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { rule, storeContract } from './contract.js';

/** Clients as createStateStore makes them, with a generous real-time backstop for slow CI. */
const clientOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 2000 } as const;
let prefixes = 0;
const uniquePrefix = (): string => `t${process.pid}-${++prefixes}:`;

describe('RedisStore (standalone)', { timeout: 30_000 }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server.stop());

  storeContract('RedisStore', {
    async create(clock, instances) {
      // A fresh prefix per test instead of FLUSHALL: state starts empty, and nothing else is touched.
      const prefix = uniquePrefix();
      return Array.from({ length: instances }, () => new RedisStore({ client: new Redis(server.url, clientOptions), clock, prefix, timeoutMs: 2000 }));
    },
  });

  test('every key carries its hash tag and a TTL', async () => {
    const clock = new FakeClock();
    const prefix = uniquePrefix();
    const store = new RedisStore({ client: new Redis(server.url, clientOptions), clock, prefix, timeoutMs: 2000 });
    const admin = new Redis(server.url);
    try {
      await store.consume([rule('key:abc:rpm', 10, 60_000), rule('key:abc:tpm', 1000, 60_000)], [1, 100]);
      assert.ok((await store.acquire('key:abc', 5, 30_000)) !== null);
      await store.add('user:u1:2025-01', 0.5, 86_400_000);
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      assert.deepEqual(keys.sort(), [
        `${prefix}{key:abc:rpm}:gcra`,
        `${prefix}{key:abc:tpm}:gcra`,
        `${prefix}{key:abc}:leases`,
        `${prefix}{user:u1:2025-01}:counter`,
      ]);
      assert.equal(store.keyFor('key:abc:rpm', 'gcra'), `${prefix}{key:abc:rpm}:gcra`);
      // A bucket lives until it has drained (6 s for 1 of 10 per minute) plus the skew slack.
      const pttl = await admin.pttl(`${prefix}{key:abc:rpm}:gcra`);
      assert.ok(pttl > 5000 && pttl <= 6000 + KEY_TTL_SLACK_MS, `pttl ${pttl}`);
      for (const key of keys) assert.ok((await admin.pttl(key)) > 0, `${key} has no TTL`);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });

  test('regression: a reply that arrived while the event loop was blocked is not a timeout (issue 15)', async () => {
    // Real timers on purpose: the bug is the order of the loop's phases after a block. The
    // timeout's timer is due when the loop wakes, but the reply is already in the socket. The
    // calls write their commands before they return (a write deferred to a microtask would go
    // out after the stall, and the test would then race Redis for the first read: CI saw the
    // last of three replies miss it).
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const store = new RedisStore({ client, clock: systemClock, prefix: uniquePrefix(), timeoutMs: 50 });
    try {
      // Connected first: the 50 ms bound is for the stalled calls, not for a first connection.
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      await store.ping();
      // On a loaded machine redis-server itself may be scheduled later than the stall, and then
      // a timeout is right. So the stall grows until Redis answered within it: the old code
      // failed every attempt (its timer always ran first after a block), the new one fails
      // only while Redis is late.
      const attempts: string[][] = [];
      for (const stallMs of [400, 800, 1600, 3200]) {
        // Each call writes its command before it returns: the pipeline, EVALSHA and PING.
        const calls: Promise<unknown>[] = [];
        for (const call of [() => store.consume([rule(`spin-${stallMs}`, 100, 60_000)], [1]), () => store.add(`spin-${stallMs}`, 1, 60_000), () => store.ping()]) {
          const written = client.stream.bytesWritten;
          calls.push(call());
          assert.ok(client.stream.bytesWritten > written, `call ${calls.length} wrote nothing before returning`);
        }
        const pending = Promise.allSettled(calls);
        const until = performance.now() + stallMs;
        while (performance.now() < until) {
          // A synchronous stall, far longer than the timeout and than Redis needs to answer.
        }
        const results = await pending;
        attempts.push(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')));
        if (results.every((r) => r.status === 'fulfilled')) break;
      }
      assert.deepEqual(attempts.at(-1), ['ok', 'ok', 'ok'], JSON.stringify(attempts));
    } finally {
      await store.close();
    }
  });

  test('scripts are sent again after SCRIPT FLUSH (NOSCRIPT), in and out of a pipeline', async () => {
    const clock = new FakeClock();
    const store = new RedisStore({ client: new Redis(server.url, clientOptions), clock, prefix: uniquePrefix(), timeoutMs: 2000 });
    const admin = new Redis(server.url);
    try {
      const a = rule('a', 5, 1000);
      const b = rule('b', 5, 1000);
      await store.consume([a, b], [1, 1]);
      await admin.script('FLUSH');
      assert.deepEqual((await store.consume([a, b], [1, 1])).map((x) => x.remaining), [3, 3]);
      await admin.script('FLUSH');
      assert.deepEqual((await store.consume([a], [1])).map((x) => x.remaining), [2]);
      await admin.script('FLUSH');
      await store.adjust([a, b], [1, 1]);
      assert.deepEqual((await store.consume([a, b], [0, 0])).map((x) => x.remaining), [3, 4]);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });
});

describe('RedisStore (Redis Cluster)', { timeout: 30_000 }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis({ cluster: true });
  });
  after(() => server.stop());

  // Every script touches one key, so CROSSSLOT never happens, and several rules are sent as
  // concurrent commands rather than a cross-slot pipeline.
  storeContract('RedisStore on a Cluster', {
    async create(clock, instances) {
      const prefix = uniquePrefix();
      return Array.from(
        { length: instances },
        () =>
          new RedisStore({
            client: new Cluster([{ host: '127.0.0.1', port: server.port }], { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 2000 } }),
            clock,
            prefix,
            timeoutMs: 2000,
          }),
      );
    },
  });
});

describe('RedisStore time bounds', { timeout: 15_000 }, () => {
  let blackHole: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  before(async () => {
    // Accepts connections and never answers: a hung Redis.
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', () => resolve()));
    const address = blackHole.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  /**
   * A client that counts as ready once connected (no RESP3 HELLO, CLIENT SETINFO or INFO
   * handshake to wait for), so commands are written and then hang.
   */
  const hungClient = (commandTimeout?: number): Redis =>
    new Redis({
      host: '127.0.0.1',
      port,
      protocol: 2,
      disableClientInfo: true,
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      ...(commandTimeout === undefined ? {} : { commandTimeout }),
    });
  const ready = (client: Redis): Promise<void> => new Promise((resolve) => client.once('ready', () => resolve()));

  test('every call rejects with StoreTimeoutError after timeoutMs on the injected clock', async () => {
    const clock = new FakeClock();
    const client = hungClient();
    await ready(client);
    const store = new RedisStore({ client, clock, timeoutMs: 100 });
    const r = rule('x', 1, 1000);
    const calls: [string, () => Promise<unknown>][] = [
      ['consume', () => store.consume([r], [1])],
      ['consume ×2', () => store.consume([r, rule('y', 1, 1000)], [1, 1])],
      ['adjust', () => store.adjust([r], [1])],
      ['acquire', () => store.acquire('x', 1, 1000)],
      ['release', () => store.release('x', 'lease')],
      ['add', () => store.add('x', 1, 1000)],
      ['get', () => store.get('x')],
      ['ping', () => store.ping()],
    ];
    for (const [name, call] of calls) {
      let settled = false;
      const pending = call().finally(() => {
        settled = true;
      });
      pending.catch(() => {});
      clock.advance(99);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(settled, false, `${name} settled before its timeout`);
      clock.advance(1);
      await assert.rejects(pending, (err: unknown) => err instanceof StoreTimeoutError && err.code === 'STORE_TIMEOUT' && err.timeoutMs === 100, name);
    }
    client.disconnect();
  });

  test('in real time, a call to a hung server rejects within about timeoutMs', async () => {
    const client = hungClient();
    await ready(client);
    const store = new RedisStore({ client, clock: systemClock, timeoutMs: 100 });
    const started = performance.now();
    await assert.rejects(store.consume([rule('x', 1, 1000)], [1]), StoreTimeoutError);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 95 && elapsed < 300, `rejected after ${elapsed} ms`);
    client.disconnect();
  });

  test('a server that never completes the handshake: calls wait for the first connection within the bound', async () => {
    const clock = new FakeClock();
    const client = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const store = new RedisStore({ client, clock, timeoutMs: 100 });
    const pending = store.ping();
    clock.advance(100);
    await assert.rejects(pending, StoreTimeoutError);
    client.disconnect();
  });

  test("ioredis's commandTimeout also surfaces as StoreTimeoutError", async () => {
    const client = hungClient(50);
    await ready(client);
    const store = new RedisStore({ client, clock: new FakeClock(), timeoutMs: 100 });
    await assert.rejects(store.get('x'), StoreTimeoutError);
    client.disconnect();
  });

  test('a call made before the first connection waits for it, within the bound', async () => {
    const server = await startRedis();
    try {
      const store = new RedisStore({ client: new Redis(server.url, clientOptions), clock: systemClock, timeoutMs: 1000 });
      assert.equal((await store.consume([rule('first', 1, 1000)], [1]))[0]!.allowed, true);
      await store.close();
    } finally {
      await server.stop();
    }
  });

  test('options are checked at construction', () => {
    const client = new Redis({ lazyConnect: true });
    assert.throws(() => new RedisStore({ client, clock: systemClock, timeoutMs: 0 }), RangeError);
    client.disconnect();
  });
});
