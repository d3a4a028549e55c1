import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { FakeClock } from '../../src/lib/clock.js';
import { defaultMockOptions } from '../../src/mock/options.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, seededRandom, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { HeldUpstream, metricValue, waitFor } from '../helpers/wait.js';

const messages = [{ role: 'user', content: 'route me' }];

async function chat(gw: TestGateway, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const reply = await req.chat(gw, { model, messages, ...extra }, { headers });
  return { ...reply, json: req.looseJson(reply.text) };
}

// Backoff waits run on the gateway's clock: fake-clock tests use none at all.
const fast = { backoffBase: 1, backoffMax: 2 };

describe('routing across targets', () => {
  let a: MockServer;
  let b: MockServer;
  let c: MockServer;
  before(async () => {
    [a, b, c] = await Promise.all([startMockServer({ port: 0 }), startMockServer({ port: 0 }), startMockServer({ port: 0 })]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
  });
  const reset = (): void => {
    for (const m of [a, b, c]) {
      m.configure(defaultMockOptions); // configure() merges, so reset every knob
      m.stats.requests = 0;
    }
  };
  const providers = () => ({ a: { type: 'openai', baseUrl: a.url }, b: { type: 'openai', baseUrl: b.url }, c: { type: 'openai', baseUrl: c.url } });

  test('weighted spreads requests by weight', async () => {
    reset();
    const gw = await startGateway({ providers: providers(), routes: [{ match: 'm', strategy: 'weighted', targets: [{ provider: 'a', weight: 3 }, { provider: 'b', weight: 1 }] }] });
    try {
      for (let i = 0; i < 40; i++) assert.equal((await chat(gw, 'm')).status, 200);
      assert.equal(a.stats.requests, 30);
      assert.equal(b.stats.requests, 10);
    } finally {
      await gw.close();
    }
  });

  test('cost picks the cheapest target, and the next cheapest when it is down', async () => {
    reset();
    const gw = await startGateway({
      providers: providers(),
      routes: [
        {
          match: 'm',
          strategy: 'cost',
          retry: { attempts: 0 },
          breaker: { consecutiveFailures: 1 },
          targets: [
            { provider: 'a', price: { input: 5, output: 15 } },
            { provider: 'b', price: { input: 0.1, output: 0.4 } },
            { provider: 'c', price: { input: 1, output: 2 } },
          ],
        },
      ],
    });
    try {
      for (let i = 0; i < 5; i++) await chat(gw, 'm');
      assert.deepEqual([a.stats.requests, b.stats.requests, c.stats.requests], [0, 5, 0]);
      b.configure({ status: 500 });
      assert.equal((await chat(gw, 'm')).status, 500); // opens b's breaker (one failure)
      for (let i = 0; i < 3; i++) assert.equal((await chat(gw, 'm')).status, 200);
      assert.deepEqual([a.stats.requests, b.stats.requests, c.stats.requests], [0, 6, 3]);
    } finally {
      await gw.close();
    }
  });

  test('failover retries the next target; no retry for a client error', async () => {
    reset();
    const gw = await startGateway({ providers: providers(), routes: [{ match: 'm', retry: fast, targets: [{ provider: 'a' }, { provider: 'b' }] }] });
    try {
      a.configure({ status: 503 });
      const ok = await chat(gw, 'm');
      assert.equal(ok.status, 200);
      assert.deepEqual([a.stats.requests, b.stats.requests], [1, 1]);
      a.configure({ status: 400 });
      const bad = await chat(gw, 'm');
      assert.equal(bad.status, 400);
      assert.deepEqual([a.stats.requests, b.stats.requests], [2, 1], 'a 400 is not retried');
    } finally {
      await gw.close();
    }
  });

  test('no retry once the first byte reached the client', async () => {
    reset();
    a.configure({ dropAfterChunks: 2 });
    const gw = await startGateway({ providers: providers(), routes: [{ match: 'm', retry: fast, targets: [{ provider: 'a' }, { provider: 'b' }] }] });
    try {
      const res = await chat(gw, 'm', { stream: true });
      assert.equal(res.status, 200);
      assert.match(res.text, /event: error/);
      assert.deepEqual([a.stats.requests, b.stats.requests], [1, 0]);
    } finally {
      await gw.close();
    }
  });

  test('a stream that fails before its first chunk is retried on another target', async () => {
    reset();
    a.configure({ dropAfterChunks: 0 });
    const gw = await startGateway({ providers: providers(), routes: [{ match: 'm', retry: fast, targets: [{ provider: 'a' }, { provider: 'b' }] }] });
    try {
      const res = await chat(gw, 'm', { stream: true });
      assert.equal(res.status, 200);
      assert.match(res.text, /data: \[DONE\]/);
      assert.deepEqual([a.stats.requests, b.stats.requests], [1, 1]);
    } finally {
      await gw.close();
    }
  });

  test('the retry budget stops a retry storm', async () => {
    reset();
    a.configure({ status: 500 });
    const gw = await startGateway({
      providers: providers(),
      routes: [{ match: 'm', retry: { ...fast, attempts: 3, budget: 0.1, budgetMinPerSecond: 0 }, breaker: { enabled: false }, targets: [{ provider: 'a' }] }],
    });
    try {
      for (let i = 0; i < 50; i++) assert.equal((await chat(gw, 'm')).status, 500);
      // 50 requests; retries limited to 10% of them, instead of 150 without a budget.
      assert.equal(a.stats.requests, 55);
    } finally {
      await gw.close();
    }
  });
});

describe('fallback', () => {
  let primary: MockServer;
  let backup: MockServer;
  before(async () => {
    [primary, backup] = await Promise.all([startMockServer({ port: 0 }), startMockServer({ port: 0 })]);
  });
  after(async () => {
    await Promise.all([primary.close(), backup.close()]);
  });
  const config = (extra: Record<string, unknown> = {}) => ({
    providers: { p: { type: 'openai', baseUrl: primary.url }, s: { type: 'openai', baseUrl: backup.url } },
    routes: [
      { match: 'gpt-4o', targets: [{ provider: 'p' }], fallback: ['claude-sonnet', 'llama-3-70b'], retry: { attempts: 0 }, breaker: { enabled: false }, ...extra },
      { match: 'claude-sonnet', targets: [{ provider: 'p', model: 'claude-on-primary' }], retry: { attempts: 0 }, breaker: { enabled: false } },
      { match: 'llama-3-70b', targets: [{ provider: 's' }] },
    ],
  });

  test('the official SDK gets the fallback answer when the primary returns 500s', async () => {
    primary.configure({ status: 500 });
    backup.stats.requests = 0;
    const gw = await startGateway(config());
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.model, 'llama-3-70b', 'answered by the last fallback, in order');
      assert.equal(backup.stats.requests, 1);
      const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.ok(text.length > 0);
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_fallbacks_total\{route="gpt-4o",fallback="llama-3-70b"\} 2/);
    } finally {
      await gw.close();
    }
  });

  test('statuses outside fallbackOn do not fall back', async () => {
    primary.configure({ status: 500 });
    backup.stats.requests = 0;
    const gw = await startGateway(config({ fallbackOn: [503] }));
    try {
      const res = await chat(gw, 'gpt-4o');
      assert.equal(res.status, 500);
      assert.equal(backup.stats.requests, 0);
    } finally {
      await gw.close();
    }
  });

  test('a client error does not fall back by default', async () => {
    primary.configure({ status: 400 });
    backup.stats.requests = 0;
    const gw = await startGateway(config());
    try {
      assert.equal((await chat(gw, 'gpt-4o')).status, 400);
      assert.equal(backup.stats.requests, 0);
    } finally {
      await gw.close();
    }
  });
});

describe('circuit breaker and the all-down 503 (fake clock)', { timeout: 30_000 }, () => {
  test('opens, answers 503 with Retry-After, half-opens after openFor, closes on success', async () => {
    const mock = await startMockServer({ port: 0, options: { status: 500 } });
    const clock = new FakeClock();
    const gw = await startGateway(
      { providers: { p: { type: 'openai', baseUrl: mock.url } }, routes: [{ match: 'm', retry: { attempts: 0 }, breaker: { consecutiveFailures: 3, openFor: '30s' }, targets: [{ provider: 'p' }] }] },
      {},
      { clock, random: seededRandom(1) },
    );
    try {
      for (let i = 0; i < 3; i++) assert.equal((await chat(gw, 'm')).status, 500);
      const down = await chat(gw, 'm');
      assert.equal(down.status, 503);
      assert.equal(down.json.error?.code, 'SLUICE_ERR_NO_HEALTHY_TARGET');
      assert.equal(down.headers['retry-after'], '30');
      assert.equal(mock.stats.requests, 3, 'an open breaker sends nothing upstream');
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_breaker_state\{route="m",target="p\/\*"\} 2/);
      mock.configure({ status: null });
      clock.advance(29_000);
      assert.equal((await chat(gw, 'm')).status, 503, 'still open before openFor');
      clock.advance(1_000);
      assert.equal((await chat(gw, 'm')).status, 200, 'the half-open probe goes through');
      assert.equal((await chat(gw, 'm')).status, 200, 'closed again');
      assert.ok(gw.logs.some((l) => l.includes('"msg":"circuit breaker"') && l.includes('"to":"open"')));
    } finally {
      await gw.close();
      await mock.close();
    }
  });

  test('a long Retry-After takes the target out of rotation instead of waiting', async () => {
    const mock = await startMockServer({ port: 0, options: { status: 429, retryAfter: 20 } });
    const other = await startMockServer({ port: 0 });
    const clock = new FakeClock();
    const gw = await startGateway(
      {
        providers: { p: { type: 'openai', baseUrl: mock.url }, q: { type: 'openai', baseUrl: other.url } },
        routes: [{ match: 'm', retry: { backoffBase: 0, attempts: 1 }, breaker: { enabled: false }, targets: [{ provider: 'p' }, { provider: 'q' }] }],
      },
      {},
      { clock, random: seededRandom(2) },
    );
    try {
      assert.equal((await chat(gw, 'm')).status, 200);
      assert.equal((await chat(gw, 'm')).status, 200);
      assert.deepEqual([mock.stats.requests, other.stats.requests], [1, 2], 'p cools down for 20 s');
      clock.advance(20_000);
      mock.configure({ status: null });
      await chat(gw, 'm');
      assert.equal(mock.stats.requests, 2, 'p is back after its Retry-After');
    } finally {
      await gw.close();
      await Promise.all([mock.close(), other.close()]);
    }
  });

  test('a short Retry-After is waited for before retrying the same target', async () => {
    const mock = await startMockServer({ port: 0, options: { status: 429, retryAfter: 1 } });
    const clock = new FakeClock();
    const gw = await startGateway(
      { providers: { p: { type: 'openai', baseUrl: mock.url } }, routes: [{ match: 'm', retry: { backoffBase: 0, attempts: 1 }, breaker: { enabled: false }, targets: [{ provider: 'p' }] }] },
      {},
      { clock, random: seededRandom(3) },
    );
    try {
      // Other components keep timers on this clock too (the state store's sweep): wait for the
      // retry's own timer, i.e. for the count to rise above what was pending before.
      const baseline = clock.pendingTimers;
      const pending = chat(gw, 'm');
      while (mock.stats.requests < 1 || clock.pendingTimers <= baseline) await new Promise((r) => setTimeout(r, 5));
      clock.advance(999);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(mock.stats.requests, 1, 'not retried before Retry-After');
      mock.configure({ status: null });
      clock.advance(1);
      assert.equal((await pending).status, 200);
      assert.equal(mock.stats.requests, 2);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});

describe('admission queue', { timeout: 30_000 }, () => {
  test('a saturated target queues by priority, then rejects past the bound and the deadline', async () => {
    const upstream = await new HeldUpstream().start();
    const gw = await startGateway({
      providers: { p: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      routes: [{ match: 'm', queue: { maxDepth: 3, timeout: '20s', priorityHeader: true }, targets: [{ provider: 'p', maxConcurrent: 1 }] }],
    });
    try {
      const depth = async (): Promise<number> => metricValue(await (await request(`${gw.url}/metrics`)).body.text(), 'sluice_queue_depth', 'route="m",target="p/*"') ?? 0;
      const order: string[] = [];
      const send = (name: string, priority: number) => chat(gw, 'm', {}, { 'x-sluice-priority': String(priority) }).then((r) => (order.push(name), r));
      const first = send('first', 0);
      await waitFor(() => upstream.held === 1, 'the first request to hold the only slot');
      const low = send('low', 1);
      await waitFor(async () => (await depth()) === 1, 'one request queued');
      const high = send('high', 9);
      await waitFor(async () => (await depth()) === 2, 'two requests queued');
      const mid = send('mid', 5);
      await waitFor(async () => (await depth()) === 3, 'three requests queued');
      const rejected = await chat(gw, 'm'); // the queue holds 3 already
      assert.equal(rejected.status, 429);
      assert.equal(rejected.json.error?.code, 'SLUICE_ERR_QUEUE_FULL');
      // One slot: each release lets the highest-priority waiter through, one at a time.
      for (let answered = 1; answered <= 4; answered++) {
        upstream.release();
        await waitFor(() => order.length === answered && (answered === 4 || upstream.held === 1), `answer ${answered}`);
      }
      const results = await Promise.all([first, low, high, mid]);
      assert.ok(results.every((r) => r.status === 200));
      assert.deepEqual(order, ['first', 'high', 'mid', 'low']);
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_queue_wait_seconds_count\{route="m"\} 3/);
    } finally {
      upstream.releaseAll();
      await gw.close();
      await upstream.stop();
    }
  });

  test('priority by request type: a header mapping and the tier add up, so interactive work passes queued experiments (seed 000)', async () => {
    const upstream = await new HeldUpstream().start();
    const PRO = 'sk-pro-key-0123456789abcdef';
    const gw = await startGateway({
      providers: { p: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      tiers: { pro: { priority: 30 } },
      keys: [{ name: 'pro', key: PRO, tier: 'pro' }],
      auth: { required: false },
      routes: [
        {
          match: 'm',
          queue: { maxDepth: 10, timeout: '20s', priorityBy: { header: { name: 'X-Request-Type', values: { interactive: 10, experiment: -10 } } } },
          targets: [{ provider: 'p', maxConcurrent: 1 }],
        },
      ],
    });
    try {
      const depth = async (): Promise<number> => metricValue(await (await request(`${gw.url}/metrics`)).body.text(), 'sluice_queue_depth', 'route="m",target="p/*"') ?? 0;
      const order: string[] = [];
      const send = (name: string, headers: Record<string, string>) => chat(gw, 'm', {}, headers).then((r) => (order.push(name), r));
      const first = send('first', {});
      await waitFor(() => upstream.held === 1, 'the first request to hold the only slot');
      const queued: Promise<unknown>[] = [];
      // Sent in the reverse of the order they should be served in; each waits until queued.
      const arrivals: [string, Record<string, string>][] = [
        ['experiment', { 'x-request-type': 'experiment' }], // -10
        ['plain', {}], // 0
        ['unlisted', { 'x-request-type': 'other' }], // 0, after plain (FIFO)
        ['interactive', { 'x-request-type': 'interactive' }], // +10
        ['pro-experiment', { 'x-request-type': 'experiment', authorization: `Bearer ${PRO}` }], // 30 - 10
      ];
      for (const [i, [name, headers]] of arrivals.entries()) {
        queued.push(send(name, headers));
        await waitFor(async () => (await depth()) === i + 1, `${name} queued`);
      }
      for (let answered = 1; answered <= arrivals.length + 1; answered++) {
        upstream.release();
        await waitFor(() => order.length === answered && (answered === arrivals.length + 1 || upstream.held === 1), `answer ${answered}`);
      }
      await Promise.all([first, ...queued]);
      assert.deepEqual(order, ['first', 'pro-experiment', 'interactive', 'plain', 'unlisted', 'experiment']);
    } finally {
      upstream.releaseAll();
      await gw.close();
      await upstream.stop();
    }
  });

  test('a request that waits past the queue timeout gets a coded 503', async () => {
    // The first request is held upstream until the test lets it go, so the second one waits in
    // the queue for its whole 100 ms deadline however slow the machine is.
    const upstream = await new HeldUpstream().start();
    const gw = await startGateway({
      providers: { p: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      routes: [{ match: 'm', queue: { timeout: '100ms' }, targets: [{ provider: 'p', maxConcurrent: 1 }] }],
    });
    try {
      const first = chat(gw, 'm');
      await waitFor(() => upstream.held === 1, 'the first request to hold the only slot');
      const late = await chat(gw, 'm');
      assert.equal(late.status, 503);
      assert.equal(late.json.error?.code, 'SLUICE_ERR_QUEUE_TIMEOUT');
      upstream.release();
      assert.equal((await first).status, 200);
    } finally {
      upstream.releaseAll();
      await gw.close();
      await upstream.stop();
    }
  });

});

describe('timeouts per route', () => {
  test('a total timeout ends a slow stream with a timeout error event', async () => {
    const mock = await startMockServer({ port: 0, options: { tokensPerSecond: 10 } });
    const gw = await startGateway({ providers: { p: { type: 'openai', baseUrl: mock.url } }, routes: [{ match: 'm', timeouts: { total: '300ms' }, targets: [{ provider: 'p' }] }] });
    try {
      const res = await chat(gw, 'm', { stream: true, max_tokens: 30 });
      assert.equal(res.status, 200);
      assert.match(res.text, /event: error\ndata: .*SLUICE_ERR_UPSTREAM_TIMEOUT/);
      assert.match(res.text, /total timeout/);
    } finally {
      await gw.close();
      await mock.close();
    }
  });

  test('a route firstByte timeout overrides the provider one', async () => {
    // undici checks these timeouts on a timer wheel of about one second, hence the sizes.
    const mock = await startMockServer({ port: 0, options: { latencyMs: 4000 } });
    const gw = await startGateway({
      providers: { p: { type: 'openai', baseUrl: mock.url } },
      routes: [{ match: 'm', retry: { attempts: 0 }, timeouts: { firstByte: '1s' }, targets: [{ provider: 'p' }] }],
    });
    try {
      const started = performance.now();
      const res = await chat(gw, 'm');
      assert.equal(res.status, 504);
      assert.ok(performance.now() - started < 3500, `took ${performance.now() - started} ms`);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
