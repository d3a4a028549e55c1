import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { HeldUpstream, metricValue, waitFor } from '../helpers/wait.js';
import * as req from '../helpers/requests.js';

const KEY_A = 'sk-test-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'sk-test-key-bbbbbbbbbbbbbbbb';

const chat = (gw: TestGateway, key: string | null, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  req.chatJson(gw, { model: 'mock-1', messages: [{ role: 'user', content: 'hello there' }], ...extra }, { bearer: key, headers });

describe('rate limits (in-memory state)', () => {
  test('a key limited to N per minute gets exactly N of many concurrent requests, with IETF headers', async () => {
    const gw = await startGateway({
      tiers: { free: { limits: { rpm: 7 } } },
      keys: [{ name: 'a', key: KEY_A, tier: 'free' }, { name: 'b', key: KEY_B, tier: 'free' }],
    });
    try {
      const results = await Promise.all(Array.from({ length: 60 }, () => chat(gw, KEY_A)));
      assert.equal(results.filter((r) => r.status === 200).length, 7);
      const refused = results.find((r) => r.status === 429)!;
      assert.equal(refused.json.error?.code, 'SLUICE_ERR_RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(refused.headers['ratelimit-policy'], 'principal-rpm;q=7;w=60');
      assert.match(String(refused.headers.ratelimit), /^principal-rpm;r=0;t=\d+$/);
      const ok = results.find((r) => r.status === 200)!;
      assert.match(String(ok.headers.ratelimit), /^principal-rpm;r=\d;t=\d+$/);
      // Another key of the same tier has its own quota.
      assert.equal((await chat(gw, KEY_B)).status, 200);
    } finally {
      await gw.close();
    }
  });

  test('per-IP limits apply before authentication, so guessing keys is throttled', async () => {
    const gw = await startGateway({ limits: { ip: { rpm: 3 } }, keys: [{ name: 'a', key: KEY_A }] });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await chat(gw, `sk-guess-${i}-xxxxxxxxxxxxxxxx`)).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      assert.equal((await chat(gw, KEY_A)).status, 429, 'the address is throttled whatever key it sends');
    } finally {
      await gw.close();
    }
  });

  test('token limits admit on an estimate and are corrected with the real usage', async () => {
    const gw = await startGateway({ tiers: { t: { limits: { tpm: 120 } } }, keys: [{ name: 'a', key: KEY_A, tier: 't' }] });
    try {
      let served = 0;
      let tokens = 0;
      for (let i = 0; i < 20; i++) {
        const r = await chat(gw, KEY_A, { max_tokens: 30 });
        if (r.status !== 200) break;
        served++;
        tokens += r.json.usage!.total_tokens;
        await new Promise((res) => setTimeout(res, 5)); // settlement runs after the answer
      }
      // Each request reserves its prompt estimate (~7) plus max_tokens (30) and is corrected to
      // its real usage (~10–35): without the correction only 3 would pass, without the
      // completion bound in the reservation the answers would overshoot the limit.
      assert.ok(served >= 4 && served < 20, `served ${served}`);
      assert.ok(tokens <= 120, `${tokens} tokens admitted for a limit of 120`);
      const refused = await chat(gw, KEY_A);
      assert.equal(refused.status, 429);
      assert.match(String(refused.headers['ratelimit-policy']), /principal-tpm;q=120;w=60;qu="tokens"/);
    } finally {
      await gw.close();
    }
  });

  test('a request without max_tokens under a small tpm reserves what fits, not the 256-token default', async () => {
    const gw = await startGateway({ tiers: { t: { limits: { tpm: 100 } } }, keys: [{ name: 'a', key: KEY_A, tier: 't' }] });
    try {
      const first = await chat(gw, KEY_A);
      assert.equal(first.status, 200, 'not refused as too large for a bound it did not ask for');
      // The reservation took the whole bucket until the answer settled it to the real usage.
      assert.match(String(first.headers.ratelimit), /r=0/);
      const large = await chat(gw, KEY_A, { max_tokens: 200 });
      assert.equal(large.json.error?.code, 'SLUICE_ERR_REQUEST_TOO_LARGE', 'a declared bound beyond the limit never fits');
    } finally {
      await gw.close();
    }
  });

  test('a route limit counts all clients together', async () => {
    const gw = await startGateway({ keys: [{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_B }], routes: [{ match: 'mock-1', limits: { rpm: 3 }, targets: [{ provider: 'mock' }] }] });
    try {
      const statuses = [await chat(gw, KEY_A), await chat(gw, KEY_B), await chat(gw, KEY_A), await chat(gw, KEY_B)].map((r) => r.status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
    } finally {
      await gw.close();
    }
  });

  test('concurrency limits count requests in flight', async () => {
    const gw = await startGateway({
      providers: { slow: { type: 'mock', latencyMs: 200 } },
      routes: [{ match: '*', targets: [{ provider: 'slow' }] }],
      tiers: { t: { limits: { concurrent: 2 } } },
      keys: [{ name: 'a', key: KEY_A, tier: 't' }],
    });
    try {
      const results = await Promise.all(Array.from({ length: 5 }, () => chat(gw, KEY_A)));
      assert.equal(results.filter((r) => r.status === 200).length, 2);
      // A slot may be released just after its answer's last byte: ask until one is free (a
      // slot that is never released fails the wait).
      await waitFor(async () => (await chat(gw, KEY_A)).status === 200, 'a slot released when its request ended', 5_000);
    } finally {
      await gw.close();
    }
  });

  test('a key limited to some models gets 403 for others', async () => {
    const gw = await startGateway({ keys: [{ name: 'a', key: KEY_A, models: ['gpt-4o*'] }] });
    try {
      assert.equal((await chat(gw, KEY_A, { model: 'gpt-4o-mini' })).status, 200);
      const denied = await chat(gw, KEY_A, { model: 'claude-3' });
      assert.equal(denied.status, 403);
      assert.equal(denied.json.error?.code, 'SLUICE_ERR_MODEL_FORBIDDEN');
    } finally {
      await gw.close();
    }
  });

  test('budgets refuse once spent, with their own code', async () => {
    // mock-1 is free in the price table; price the target so each answer costs ~$0.01–0.05.
    const gw = await startGateway({
      routes: [{ match: '*', targets: [{ provider: 'mock', price: { input: 1000, output: 1000 } }] }],
      tiers: { t: { budget: { daily: 0.1 } } },
      keys: [{ name: 'a', key: KEY_A, tier: 't' }],
    });
    try {
      let served = 0;
      let status = 200;
      while (status === 200 && served < 50) {
        const r = await chat(gw, KEY_A, { max_tokens: 16 });
        status = r.status;
        if (status === 200) served++;
        else {
          assert.equal(r.json.error?.code, 'SLUICE_ERR_BUDGET_EXCEEDED');
          assert.ok(Number(r.headers['retry-after']) > 0);
        }
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.equal(status, 429);
      assert.ok(served >= 2 && served <= 10, `served ${served}`);
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_budget_alerts_total\{period="daily"\} 1/);
      assert.match(metrics, /sluice_limit_rejections_total\{route="\*",policy="budget-daily"\} 1/);
    } finally {
      await gw.close();
    }
  });
});

describe('tiers', () => {
  test('a tier-wide budget is shared by all keys of the tier', async () => {
    const gw = await startGateway({
      routes: [{ match: '*', targets: [{ provider: 'mock', price: { input: 1000, output: 1000 } }] }],
      tiers: { team: { totalBudget: { daily: 0.15 } } },
      keys: [{ name: 'a', key: KEY_A, tier: 'team' }, { name: 'b', key: KEY_B, tier: 'team' }],
    });
    try {
      let spent = 0;
      let status = 200;
      for (let i = 0; i < 40 && status === 200; i++) {
        const r = await chat(gw, i % 2 === 0 ? KEY_A : KEY_B, { max_tokens: 16 });
        status = r.status;
        if (status === 200) spent += (r.json.usage!.total_tokens * 1000) / 1_000_000;
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.equal(status, 429);
      assert.ok(spent >= 0.15 && spent <= 0.15 + 0.05, `the two keys spent $${spent.toFixed(3)} of a shared $0.15`);
    } finally {
      await gw.close();
    }
  });

  test("a tier's priority orders the admission queue; its header choice only where allowed", async () => {
    const upstream = await new HeldUpstream().start();
    const gw = await startGateway({
      providers: { held: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      routes: [{ match: '*', targets: [{ provider: 'held', maxConcurrent: 1 }] }],
      tiers: { gold: { priority: 10 }, free: { priority: 0 } },
      keys: [{ name: 'gold', key: KEY_A, tier: 'gold' }, { name: 'free', key: KEY_B, tier: 'free' }],
    });
    try {
      const depth = async (): Promise<number> => metricValue(await (await request(`${gw.url}/metrics`)).body.text(), 'sluice_queue_depth', 'route="*",target="held/*"') ?? 0;
      const order: string[] = [];
      const send = (name: string, key: string, headers: Record<string, string> = {}) => chat(gw, key, {}, headers).then((r) => (order.push(name), r));
      const first = send('first', KEY_B);
      await waitFor(() => upstream.held === 1, 'the first request to hold the only slot');
      // free asks for priority 99, but its tier does not allow choosing: it stays at 0.
      const free = send('free', KEY_B, { 'x-sluice-priority': '99' });
      await waitFor(async () => (await depth()) === 1, 'free queued');
      const gold = send('gold', KEY_A);
      await waitFor(async () => (await depth()) === 2, 'gold queued');
      for (let answered = 1; answered <= 3; answered++) {
        upstream.release();
        await waitFor(() => order.length === answered && (answered === 3 || upstream.held === 1), `answer ${answered}`);
      }
      assert.ok((await Promise.all([first, free, gold])).every((r) => r.status === 200));
      assert.deepEqual(order, ['first', 'gold', 'free']);
    } finally {
      upstream.releaseAll();
      await gw.close();
      await upstream.stop();
    }
  });
});

describe('authentication', () => {
  test('required auth: 401 without a key or with a wrong one; the key works', async () => {
    const gw = await startGateway({ keys: [{ name: 'a', key: KEY_A }] });
    try {
      const none = await chat(gw, null);
      assert.equal(none.status, 401);
      assert.equal(none.json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
      assert.equal((await chat(gw, 'sk-wrong-key-zzzzzzzzzzzzzz')).status, 401);
      assert.equal((await chat(gw, KEY_A)).status, 200);
      assert.equal((await chat(gw, null, {}, { 'x-api-key': KEY_A })).status, 200, 'x-api-key, as Anthropic SDKs send it');
    } finally {
      await gw.close();
    }
  });

  test('open gateway: any placeholder key is served as anonymous', async () => {
    const gw = await startGateway({});
    try {
      assert.equal((await chat(gw, 'unused-by-the-mock')).status, 200);
      assert.equal((await chat(gw, null)).status, 200);
    } finally {
      await gw.close();
    }
  });

  test('expired keys are refused', async () => {
    const gw = await startGateway({ keys: [{ name: 'old', key: KEY_A, expiresAt: '2020-01-01T00:00:00Z' }, { name: 'new', key: KEY_B }] });
    try {
      assert.equal((await chat(gw, KEY_A)).status, 401);
      assert.equal((await chat(gw, KEY_B)).status, 200);
    } finally {
      await gw.close();
    }
  });
});
