import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { FakeClock, systemClock, type Clock, type TimerHandle } from '../../src/lib/clock.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

/**
 * Issue 15: limits and budgets exact across instances under bursts, with DEFAULT state
 * settings (state.timeout, state.failure), real Redis and three gateways; a cold instance;
 * readiness that follows Redis with no request sent.
 */

const KEY = 'sk-burst-key-0123456789abcdef';
const agent = new Agent({ connections: 64 });
after(() => agent.close());

/**
 * Real timers, but a wall clock that stands still: a GCRA bucket then never refills during
 * the burst however slow the machine is, so "exactly rpm" is exact, not "rpm plus what came
 * back meanwhile".
 */
class FrozenWallClock implements Clock {
  readonly #now = Date.now();
  now(): number {
    return this.#now;
  }
  monotonic(): number {
    return systemClock.monotonic();
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    return systemClock.setTimer(fn, ms);
  }
  clearTimer(handle: TimerHandle): void {
    systemClock.clearTimer(handle);
  }
}

interface Reply {
  status: number;
  code: string | null;
  totalTokens: number;
}

async function chat(gw: TestGateway, extra: Record<string, unknown> = {}): Promise<Reply> {
  const { status, json } = await req.chatJson(gw, { model: 'mock-1', messages: [{ role: 'user', content: 'hello' }], ...extra }, { bearer: KEY, dispatcher: agent });
  return { status, code: json.error?.code ?? null, totalTokens: json.usage?.total_tokens ?? 0 };
}

/** Blocks this process's event loop for `ms`: the gateways' own lag, with Redis answering meanwhile. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy on purpose.
  }
}

/**
 * Sends `n` concurrent requests round-robin over the gateways, and three times during the
 * burst makes the gateways' own event loop lag while Redis is healthy: Redis holds commands
 * for 50 ms (CLIENT PAUSE: well within any timeout), and 20 ms into that pause this process
 * blocks for 600 ms (longer than the default state.timeout). The commands the gateways sent
 * meanwhile are answered 30 ms into the block, but their replies cannot be read until it ends:
 * a timeout that counted the gateway's own lag would declare the healthy Redis down.
 */
async function burst(redis: RedisServer, gws: readonly TestGateway[], n: number, extra: Record<string, unknown> = {}): Promise<Reply[]> {
  const admin = new Redis(redis.url);
  let done = false;
  const stalls = (async () => {
    for (let i = 0; i < 3 && !done; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await admin.client('PAUSE', 50);
      await new Promise((r) => setTimeout(r, 20));
      spin(600);
    }
  })();
  try {
    return await Promise.all(Array.from({ length: n }, (_, i) => chat(gws[i % gws.length]!, extra)));
  } finally {
    done = true;
    await stalls;
    admin.disconnect();
  }
}

async function ready(gw: TestGateway): Promise<{ status: number; json: { status: string; state: { healthy: boolean } } }> {
  const res = await request(`${gw.url}/ready`, { dispatcher: agent });
  return { status: res.statusCode, json: (await res.body.json()) as { status: string; state: { healthy: boolean } } };
}

async function gauge(gw: TestGateway): Promise<string | undefined> {
  const text = await (await request(`${gw.url}/metrics`, { dispatcher: agent })).body.text();
  return /^sluice_state_store_up (\d)/m.exec(text)?.[1];
}

/** Polls an I/O outcome (a connection, a reply); time itself is moved by the clock, not by this. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function threeGateways(redis: RedisServer, prefix: string, extra: Record<string, unknown>, state: Record<string, unknown> = {}): Promise<TestGateway[]> {
  const clock = new FrozenWallClock();
  return Promise.all(
    Array.from({ length: 3 }, () => startGateway({ state: { redis: redis.url, prefix, ...state }, keys: [{ name: 'burst', key: KEY, tier: 't' }], ...extra }, {}, { clock })),
  );
}

describe('limits under a burst over three instances, default state settings (issue 15)', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('regression: rpm 50, 500 concurrent requests with the event loop stalled: exactly 50 admitted', async () => {
    const gws = await threeGateways(redis, 'rpm:', { tiers: { t: { limits: { rpm: 50 } } } });
    try {
      const replies = await burst(redis, gws, 500);
      assert.equal(replies.filter((r) => r.status === 200).length, 50);
      assert.deepEqual([...new Set(replies.filter((r) => r.status !== 200).map((r) => r.code))], ['SLUICE_ERR_RATE_LIMITED']);
      for (const gw of gws) assert.equal((await ready(gw)).json.state.healthy, true, 'Redis was never declared down');
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('regression: a $0.33 budget under the same burst is exceeded by at most one request', async () => {
    const price = { input: 1000, output: 1000 }; // $ per million tokens: $0.001 a token
    const gws = await threeGateways(redis, 'budget:', { routes: [{ match: '*', targets: [{ provider: 'mock', price }] }], tiers: { t: { budget: { daily: 0.33 } } } });
    try {
      const replies = await burst(redis, gws, 500, { max_tokens: 16 });
      const costs = replies.filter((r) => r.status === 200).map((r) => r.totalTokens * 0.001);
      const spent = costs.reduce((a, b) => a + b, 0);
      assert.ok(spent <= 0.33 + Math.max(...costs) + 1e-9, `spent $${spent.toFixed(3)} of a $0.33 budget`);
      assert.ok(replies.some((r) => r.code === 'SLUICE_ERR_BUDGET_EXCEEDED'));
      assert.ok(replies.every((r) => r.status === 200 || r.code === 'SLUICE_ERR_BUDGET_EXCEEDED'));
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('regression: failure: closed, healthy Redis, same burst: no 503, exactly 50 admitted', async () => {
    const gws = await threeGateways(redis, 'closed:', { tiers: { t: { limits: { rpm: 50 } } } }, { failure: 'closed' });
    try {
      const replies = await burst(redis, gws, 500);
      assert.equal(replies.filter((r) => r.status === 503).length, 0);
      assert.equal(replies.filter((r) => r.status === 200).length, 50);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('regression: tpm with max_tokens, 500 concurrent requests: the tokens admitted stay within the limit', async () => {
    const gws = await threeGateways(redis, 'tpm:', { tiers: { t: { limits: { tpm: 300 } } } });
    try {
      const replies = await burst(redis, gws, 500, { max_tokens: 16 });
      const tokens = replies.reduce((sum, r) => sum + (r.status === 200 ? r.totalTokens : 0), 0);
      assert.ok(tokens <= 300, `${tokens} tokens admitted for a tpm of 300`);
      assert.ok(tokens >= 150, `${tokens} tokens admitted: the limit should be mostly used`);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });
});

describe('a cold instance (issue 15)', { timeout: 60_000 }, () => {
  test('regression: Redis not answering yet, then answering: /ready 503 until it does, and rpm 10 admits exactly 10 of 30 over it and a second instance', async () => {
    const port = await freePort();
    const clock = new FrozenWallClock();
    const config = { state: { redis: `redis://127.0.0.1:${port}`, prefix: 'cold:' }, keys: [{ name: 'burst', key: KEY, tier: 't' }], tiers: { t: { limits: { rpm: 10 } } } };
    const cold = await startGateway(config, {}, { clock });
    let redis: RedisServer | null = null;
    let other: TestGateway | null = null;
    try {
      // The cold instance's share of the burst arrives before Redis answers.
      const early = Promise.all(Array.from({ length: 15 }, () => chat(cold)));
      const before = await ready(cold);
      assert.equal(before.status, 503);
      assert.equal(before.json.state.healthy, false);
      redis = await startRedis({ port });
      // The rest goes to an instance that started once Redis was up.
      other = await startGateway(config, {}, { clock });
      const late = await Promise.all(Array.from({ length: 15 }, () => chat(other!)));
      const replies = [...(await early), ...late];
      assert.equal(replies.filter((r) => r.status === 200).length, 10, 'the cold instance did not decide on its own');
      assert.equal(replies.filter((r) => r.status === 429).length, 20);
      assert.equal((await ready(cold)).status, 200);
    } finally {
      await Promise.all([cold.close(), other?.close()]);
      await redis?.stop();
    }
  });
});

describe('readiness follows Redis with no request sent (issue 15)', { timeout: 60_000 }, () => {
  const cases: [string, Record<string, unknown>][] = [
    ['limits in Redis, failure: closed', { state: { failure: 'closed' }, tiers: { t: { limits: { rpm: 100 } } } }],
    ['Redis serving only the cache', { tiers: { t: {} }, routes: [{ match: '*', targets: [{ provider: 'mock' }], cache: { ttl: '1m' } }] }],
  ];
  for (const [name, extra] of cases) {
    test(`regression: ${name}: /ready 503 and sluice_state_store_up 0 within one check interval of Redis stopping`, async () => {
      const redis = await startRedis();
      const clock = new FakeClock(Date.now());
      const state = { redis: redis.url, prefix: 'ready:', ...(extra.state as object | undefined) };
      const gw = await startGateway({ ...extra, state, keys: [{ name: 'burst', key: KEY, tier: 't' }] }, {}, { clock });
      try {
        await until('the first answer', async () => (await ready(gw)).status === 200);
        assert.equal(await gauge(gw), '1');
        await redis.stop();
        clock.advance(1000); // the default state.checkInterval
        await until('/ready notices', async () => (await ready(gw)).status === 503);
        assert.equal(await gauge(gw), '0');
        await redis.restart();
        clock.advance(1000);
        await until('/ready recovers', async () => {
          clock.advance(1000);
          return (await ready(gw)).status === 200;
        });
        assert.equal(await gauge(gw), '1');
      } finally {
        await gw.close();
        await redis.stop();
      }
    });
  }
});
