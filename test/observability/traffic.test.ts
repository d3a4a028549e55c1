import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestSummary, ServiceSummary } from '../../src/exchange/summary.js';
import { FakeClock } from '../../src/lib/clock.js';
import { EventBus } from '../../src/observability/events.js';
import { TRAFFIC_BUCKET_MS, TrafficRing } from '../../src/observability/traffic.js';

// Issue 20: the console's live traffic ring (5 s buckets, 15 minutes, a histogram per bucket).

/** The fields of a summary the ring reads; the rest of a summary does not matter to it. */
function request(route: string, provider: string | null, status: number, ms: number): RequestSummary {
  return { route: { name: route }, target: provider === null ? null : { provider }, status, startedAt: 1_000, endedAt: 1_000 + ms } as unknown as RequestSummary;
}
function service(name: string, status: number, ms: number): ServiceSummary {
  return { service: name, status, startedAt: 0, endedAt: ms } as unknown as ServiceSummary;
}

// Start on a bucket boundary, so a test knows which bucket a request lands in.
const START = Math.ceil(1_700_000_000_000 / TRAFFIC_BUCKET_MS) * TRAFFIC_BUCKET_MS;

test('counts requests, 4xx and 5xx per bucket, overall and by route, provider and service', () => {
  const clock = new FakeClock(START);
  const bus = new EventBus((err) => {
    throw err;
  });
  const ring = new TrafficRing(clock).listen(bus);
  bus.emit('request:end', request('chat', 'openai', 200, 10));
  bus.emit('request:end', request('chat', 'openai', 429, 20));
  bus.emit('request:end', request('embed', 'mock', 502, 30));
  bus.emit('request:end', request('embed', null, 400, 1));
  bus.emit('http:end', service('billing', 503, 5));
  clock.advance(TRAFFIC_BUCKET_MS);
  bus.emit('request:end', request('chat', 'openai', 200, 10));

  const view = ring.view(60, 5);
  assert.equal(view.overall.points.length, 12);
  assert.equal(view.until, new Date(START + 2 * TRAFFIC_BUCKET_MS).toISOString());
  const [previous, current] = view.overall.points.slice(-2);
  assert.equal(previous!.at, new Date(START).toISOString());
  assert.deepEqual([previous!.requests, previous!.errors4xx, previous!.errors5xx, previous!.rps], [5, 2, 2, 1]);
  assert.equal(current!.requests, 1);
  assert.equal(view.overall.total.requests, 6);
  assert.deepEqual(Object.keys(view.routes), ['chat', 'embed']);
  assert.equal(view.routes.chat!.total.requests, 3);
  assert.equal(view.routes.embed!.total.errors5xx, 1);
  assert.deepEqual(Object.keys(view.providers), ['mock', 'openai']);
  assert.equal(view.providers.openai!.total.errors4xx, 1);
  assert.equal(view.services.billing!.total.errors5xx, 1);
  // Points with no requests have no latency.
  assert.equal(view.overall.points[0]!.p50, null);
});

test('p50/p95/p99 come from the histogram, at most one bin (19%) above the true value', () => {
  const clock = new FakeClock(START);
  const ring = new TrafficRing(clock);
  // 1..1000 ms: p50 = 500, p95 = 950, p99 = 990.
  for (let ms = 1; ms <= 1000; ms++) ring.recordRequest(request('r', 'p', 200, ms));
  const total = ring.view(5, 5).overall.total;
  for (const [got, want] of [[total.p50, 500], [total.p95, 950], [total.p99, 990]] as const) {
    assert.ok(got !== null && got >= want && got <= want * 1.19, `${got} for ${want}`);
  }
  assert.ok(total.p50! < total.p95! && total.p95! <= total.p99!);
});

test('steps sum buckets; the window forgets what is older, and a reused slot starts empty', () => {
  const clock = new FakeClock(START);
  const ring = new TrafficRing(clock);
  for (let i = 0; i < 4; i++) {
    ring.recordRequest(request('r', 'p', 200, 5));
    ring.recordRequest(request('r', 'p', 200, 5));
    clock.advance(TRAFFIC_BUCKET_MS);
  }
  // Now in the fifth bucket, empty; the four before hold two each.
  const tens = ring.view(30, 10);
  assert.deepEqual(tens.overall.points.map((p) => p.requests), [2, 4, 2]);
  assert.equal(tens.overall.points[1]!.rps, 0.4);
  assert.equal(ring.view(5, 5).overall.total.requests, 0);
  // 15 minutes on, every slot has been passed: nothing old is shown, and a reused slot counts afresh.
  clock.advance(15 * 60_000);
  assert.equal(ring.view(900, 60).overall.total.requests, 0);
  ring.recordRequest(request('r', 'p', 200, 5));
  const after = ring.view(900, 60);
  assert.equal(after.overall.total.requests, 1);
  assert.equal(after.overall.points.length, 15);
  assert.equal(after.routes.r!.total.requests, 1);
});
