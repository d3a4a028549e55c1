import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const KEY = 'sk-shared-key-0123456789abcdef';

const chat = (gw: TestGateway, extra: Record<string, unknown> = {}) => req.chatJson(gw, { model: 'mock-1', messages: [{ role: 'user', content: 'hello' }], ...extra }, { bearer: KEY });

async function ready(gw: TestGateway) {
  const res = await request(`${gw.url}/ready`);
  return { status: res.statusCode, json: (await res.body.json()) as { status: string; state: { healthy: boolean; mode: string | null } } };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function instances(redis: RedisServer, n: number, extra: Record<string, unknown>, prefix: string): Promise<TestGateway[]> {
  return Promise.all(Array.from({ length: n }, () => startGateway({ state: { redis: redis.url, prefix, timeout: '2s' }, keys: [{ name: 'shared', key: KEY, tier: 't' }], ...extra })));
}

describe('limits hold across instances sharing Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('a key limited to N per day gets exactly N of 300 concurrent requests over three instances', async () => {
    // Per day, not per minute: with rpm 25 one more request becomes due every 2.4 s, which a
    // loaded machine can take to serve 300 requests.
    const gws = await instances(redis, 3, { tiers: { t: { limits: { rpd: 25 } } } }, 'rpd:');
    try {
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(gws[i % 3]!)));
      assert.equal(results.filter((r) => r.status === 200).length, 25);
      assert.ok(results.filter((r) => r.status === 429).every((r) => r.json.error?.code === 'SLUICE_ERR_RATE_LIMITED'));
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('a token limit holds across instances, corrected with real usage', async () => {
    const gws = await instances(redis, 3, { tiers: { t: { limits: { tpm: 300 } } } }, 'tpm:');
    try {
      let tokens = 0;
      let refused = 0;
      for (let i = 0; i < 60 && refused < 3; i++) {
        const r = await chat(gws[i % 3]!, { max_tokens: 30 });
        if (r.status === 200) tokens += r.json.usage!.total_tokens;
        else refused++;
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.ok(refused > 0, 'the limit was reached');
      // One instance alone would admit ~300; three without shared state ~900. The completion's
      // bound is reserved up front, so the answers cannot overshoot.
      assert.ok(tokens <= 300, `${tokens} tokens admitted over three instances for a limit of 300`);
      assert.ok(tokens >= 200, `${tokens}`);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('a budget holds across instances', async () => {
    const gws = await instances(redis, 3, { routes: [{ match: '*', targets: [{ provider: 'mock', price: { input: 1000, output: 1000 } }] }], tiers: { t: { budget: { daily: 0.3 } } } }, 'budget:');
    try {
      let spent = 0;
      let status = 200;
      for (let i = 0; i < 100 && status === 200; i++) {
        const r = await chat(gws[i % 3]!, { max_tokens: 16 });
        status = r.status;
        if (status === 200) spent += (r.json.usage!.total_tokens * 1000) / 1_000_000;
        else assert.equal(r.json.error?.code, 'SLUICE_ERR_BUDGET_EXCEEDED');
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.equal(status, 429);
      // Overrun by at most the one request that crossed it (≤ ~45 tokens = $0.045).
      assert.ok(spent >= 0.3 && spent <= 0.3 + 0.05, `spent $${spent.toFixed(3)} of a $0.30 budget`);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  });

  test('Redis killed and restarted: fail-open serves on local limits and recovers; fail-closed refuses and recovers', async () => {
    const open = await instances(redis, 1, { tiers: { t: { limits: { rpm: 1000 } } } }, 'open:');
    const closed = await instances(redis, 1, { state: { redis: redis.url, prefix: 'closed:', timeout: '300ms', failure: 'closed' }, tiers: { t: { limits: { rpm: 1000 } } } }, 'closed:');
    try {
      assert.equal((await chat(open[0]!)).status, 200);
      assert.equal((await chat(closed[0]!)).status, 200);
      await redis.kill();
      await until('both notice', async () => (await chat(open[0]!)).status === 200 && (await ready(open[0]!)).json.status === 'degraded');
      // Still serving on local limits, but not ready: balancers should prefer instances whose limits are shared.
      assert.equal((await ready(open[0]!)).status, 503);
      const refused = await chat(closed[0]!);
      assert.equal(refused.status, 503);
      assert.equal(refused.json.error?.code, 'SLUICE_ERR_LIMITER_UNAVAILABLE');
      assert.equal((await ready(closed[0]!)).status, 503);
      assert.match(await (await request(`${closed[0]!.url}/metrics`)).body.text(), /sluice_state_store_up 0/);
      await redis.restart();
      await until('fail-closed recovers', async () => (await chat(closed[0]!)).status === 200);
      await until('fail-open is healthy again', async () => (await ready(open[0]!)).json.state.healthy);
      assert.equal((await ready(closed[0]!)).json.status, 'ready');
      assert.equal((await ready(closed[0]!)).json.state.mode, 'standalone');
      const metrics = await (await request(`${closed[0]!.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_state_store_up 1/);
      assert.ok(closed[0]!.logs.some((l) => l.includes('"msg":"shared state store"') && l.includes('"healthy":false')));
    } finally {
      await Promise.all([...open, ...closed].map((g) => g.close()));
    }
  });
});
