import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { HeldUpstream, waitFor } from '../helpers/wait.js';

// Issue 20: the admin read endpoints the console draws: traffic, targets, queues, limits,
// config (masked), and the usage summary as CSV.

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const KEY = 'sk-test-reads-key-0123456789';
const PROVIDER_KEY = 'sk-upstream-secret-0123456789abcdef';
const HEADER_SECRET = 'hdr-val-42';

type Json = Record<string, unknown>;
const get = async <T = Json>(gw: TestGateway, path: string, token: string | null = VIEWER): Promise<req.JsonReply<T>> => req.sendJson<T>(gw, path, { bearer: token });

interface Point {
  at: string;
  requests: number;
  rps: number;
  errors4xx: number;
  errors5xx: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
interface Series {
  points: Point[];
  total: Omit<Point, 'at'>;
}
interface Traffic {
  windowSeconds: number;
  stepSeconds: number;
  overall: Series;
  routes: Record<string, Series>;
  providers: Record<string, Series>;
}

describe('admin read endpoints', () => {
  let gw: TestGateway;
  let held: HeldUpstream;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-admin-reads-'));
    held = await new HeldUpstream().start();
    gw = await startGateway({
      admin: { tokens: [ADMIN, { name: 'dash', token: VIEWER, role: 'viewer' }] },
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '20ms' },
      keys: [{ name: 'reader', key: KEY, tier: 'pro', user: 'ann', budget: { daily: 5 } }],
      tiers: { pro: { limits: { rpm: 600 }, budget: { monthly: 100 } } },
      prices: { 'mock-1': { input: 10, output: 10 } },
      providers: {
        mock: { type: 'mock' },
        failing: { type: 'mock', status: 503 },
        held: { type: 'openai', baseUrl: `${held.url}/v1`, apiKey: PROVIDER_KEY, headers: { 'x-org': HEADER_SECRET } },
      },
      routes: [
        { name: 'main', match: 'mock-1', targets: [{ provider: 'mock' }], limits: { rps: 100 } },
        { name: 'broken', match: 'broken', targets: [{ provider: 'failing' }], retry: { attempts: 1 }, breaker: { consecutiveFailures: 2, minRequests: 100 } },
        { name: 'slow', match: 'held', targets: [{ provider: 'held', maxConcurrent: 1 }], queue: { maxDepth: 5, timeout: '30s' } },
      ],
      state: { redis: undefined },
    });
  });
  after(async () => {
    held.releaseAll();
    await gw.close();
    await held.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /admin/traffic counts requests and errors overall, by route and by provider', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await req.chat(gw, req.chatBody('mock-1', 'hi'), { bearer: KEY })).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await req.chat(gw, req.chatBody('broken', 'hi'), { bearer: KEY })).status, 503);
    assert.equal((await req.chat(gw, req.chatBody('no-such-route', 'hi'), { bearer: KEY })).status, 404);
    const traffic = await get<Traffic>(gw, '/admin/traffic?window=1m');
    assert.equal(traffic.status, 200);
    assert.equal(traffic.json.windowSeconds, 60);
    assert.equal(traffic.json.stepSeconds, 5);
    assert.equal(traffic.json.overall.points.length, 12);
    assert.equal(traffic.json.routes.main!.total.requests, 3);
    assert.equal(traffic.json.routes.broken!.total.errors5xx, 2);
    assert.equal(traffic.json.providers.mock!.total.requests, 3);
    // The breaker opens on the failures, so a later request may find no target to try.
    assert.ok(traffic.json.providers.failing!.total.errors5xx >= 1);
    assert.ok(traffic.json.overall.total.requests >= 5);
    assert.ok(traffic.json.routes.main!.total.p50 !== null);
    // A refusal before routing (404 for an unknown model) is not a route's request.
    assert.equal(Object.keys(traffic.json.routes).includes('no-such-route'), false);

    const steps = await get<Traffic>(gw, '/admin/traffic?window=900&step=60s');
    assert.equal(steps.json.overall.points.length, 15);
    for (const bad of ['window=7', 'window=1h', 'window=30&step=20', 'step=abc', 'other=1']) {
      const r = await get(gw, `/admin/traffic?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal((r.json.error as req.ApiError).code, 'SLUICE_ERR_INVALID_REQUEST');
    }
  });

  test('GET /admin/targets shows breaker state, health, in-flight and latency per target', async () => {
    const targets = await get<{ routes: { route: string; targets: Json[] }[]; services: unknown[] }>(gw, '/admin/targets');
    assert.equal(targets.status, 200);
    const byRoute = new Map(targets.json.routes.map((r) => [r.route, r.targets]));
    assert.deepEqual([...byRoute.keys()], ['main', 'broken', 'slow']);
    const broken = byRoute.get('broken')![0]!;
    // Two consecutive failures opened the breaker.
    assert.equal(broken.breaker, 'open');
    assert.equal(broken.available, false);
    assert.ok(Number(broken.backInMs) > 0);
    const main = byRoute.get('main')![0]!;
    assert.equal(main.target, 'mock/*');
    assert.equal(main.breaker, 'closed');
    assert.equal(main.healthy, null);
    assert.equal(main.inFlight, 0);
    assert.deepEqual(targets.json.services, []);
  });

  test('GET /admin/queues shows requests waiting for a target at capacity', async () => {
    const first = req.chat(gw, req.chatBody('held', 'one'), { bearer: KEY });
    await waitFor(() => held.held === 1, 'the first request to hold the only slot');
    const second = req.chat(gw, req.chatBody('held', 'two'), { bearer: KEY });
    type Queues = { waiting: number; routes: { route: string; waiting: number; inFlight: number; maxDepth: number; targets: { waiting: number; maxConcurrent: number | null }[] }[] };
    let queues: Queues | null = null;
    await waitFor(async () => {
      queues = (await get<Queues>(gw, '/admin/queues')).json;
      return queues.waiting === 1;
    }, 'the second request to wait in the queue');
    const slow = queues!.routes.find((r) => r.route === 'slow')!;
    assert.deepEqual([slow.waiting, slow.inFlight, slow.maxDepth, slow.targets[0]!.maxConcurrent], [1, 1, 5, 1]);
    assert.equal(queues!.routes.find((r) => r.route === 'main')!.targets[0]!.maxConcurrent, null);
    held.releaseAll();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    assert.equal((await get<Queues>(gw, '/admin/queues')).json.waiting, 0);
  });

  test('GET /admin/limits lists tiers, keys, routes and what each principal spent', async () => {
    type Limits = { tiers: { tier: string; limits: Json | null; budget: Json | null }[]; keys: { name: string; budgetScope: string; budget: Json | null; spentUsd: { today: number; month: number } | null }[]; routes: { route: string; limits: Json }[]; principals: { principal: string }[] | null };
    // The usage records of the three answered requests reach the database (flushed every 20 ms).
    let limits: Limits | null = null;
    await waitFor(async () => {
      limits = (await get<Limits>(gw, '/admin/limits')).json;
      return (limits.keys.find((k) => k.name === 'reader')?.spentUsd?.today ?? 0) > 0;
    }, 'the spend to show');
    const key = limits!.keys.find((k) => k.name === 'reader')!;
    assert.equal(key.budgetScope, 'user:ann');
    assert.deepEqual(key.budget, { daily: 5, alertAt: 0.8 });
    assert.ok(key.spentUsd!.month >= key.spentUsd!.today);
    const pro = limits!.tiers.find((t) => t.tier === 'pro')!;
    assert.equal(pro.limits?.rpm, 600);
    assert.equal(pro.budget?.monthlyUsd, 100);
    assert.ok(limits!.tiers.some((t) => t.tier === 'default'));
    assert.deepEqual(limits!.routes.map((r) => r.route), ['main']);
    assert.ok(limits!.principals!.some((p) => p.principal === 'user:ann'));
  });

  test('GET /admin/config shows the running config with every secret masked', async () => {
    const config = await get<{ source: string; loadedAt: string; reload: { version: number; lastAttempt: unknown }; config: Json }>(gw, '/admin/config');
    assert.equal(config.status, 200);
    assert.equal(config.json.source, 'test');
    assert.ok(!Number.isNaN(Date.parse(config.json.loadedAt)));
    assert.deepEqual([config.json.reload.version, config.json.reload.lastAttempt], [1, null], 'the reload status: version 1, never reloaded');
    const text = config.text;
    for (const secret of [PROVIDER_KEY, HEADER_SECRET, KEY, ADMIN, VIEWER]) assert.equal(text.includes(secret), false, `${secret} leaked`);
    const held = (config.json.config.providers as Record<string, Json>).held!;
    assert.equal(held.apiKey, '[redacted]');
    assert.deepEqual(held.headers, { 'x-org': '[redacted]' });
    const tokens = config.json.config.adminTokens as Json[];
    assert.deepEqual(tokens.map((t) => [t.name, t.role, t.hash]), [['token-1', 'admin', '[redacted]'], ['dash', 'viewer', '[redacted]']]);
    assert.equal(((config.json.config.routes as Json[])[0]!).name, 'main');
    assert.equal('redactor' in config.json.config, false);
  });

  test('GET /admin/usage?format=csv answers the summary as CSV', async () => {
    await waitFor(async () => (await get(gw, '/admin/usage?group_by=route')).text.includes('"main"'), 'the usage records');
    const csv = await req.send(gw, '/admin/usage?group_by=route,model&format=csv', { bearer: VIEWER });
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="sluice-usage\.csv"/);
    const lines = csv.text.split('\r\n');
    assert.equal(lines[0], 'route,model,requests,errors,prompt_tokens,completion_tokens,cached_prompt_tokens,cache_write_tokens,cache_write_1h_tokens,reasoning_tokens,estimated,cost_usd,cache_hits,avg_latency_ms');
    const main = lines.find((l) => l.startsWith('main,mock-1,'))!;
    assert.equal(main.split(',')[2], '3');
    assert.equal(lines.at(-1), '');
    assert.equal((await get(gw, '/admin/usage?format=xml')).status, 400);
  });

  test('every read endpoint needs an admin token', async () => {
    for (const path of ['/admin/traffic', '/admin/targets', '/admin/queues', '/admin/limits', '/admin/config']) {
      assert.equal((await get(gw, path, null)).status, 401, path);
      assert.equal((await get(gw, path, VIEWER)).status, 200, path);
    }
  });
});

