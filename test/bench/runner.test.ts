import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildPlan } from '../../src/bench/plan.js';
import { buildResult } from '../../src/bench/result.js';
import { runBench } from '../../src/bench/runner.js';

/**
 * A server that stalls: every request that arrives during the first STALL_MS after `stallFrom`
 * is held until the stall ends, later requests are answered at once. The open loop must show
 * the stall in every request scheduled during it; a closed loop sees it once per worker.
 */
const STALL_MS = 400;

describe('open loop vs closed loop against a stalling server', () => {
  let server: http.Server;
  let url: string;
  let stallUntil = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const wait = stallUntil - performance.now();
        const answer = (): void => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"ok":true}');
        };
        if (wait > 0) setTimeout(answer, wait);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('open loop: requests scheduled during the stall carry it in their latency (no coordinated omission)', async () => {
    const { plan } = buildPlan({ rate: '100', duration: '1s' }, [url]);
    stallUntil = performance.now() + STALL_MS;
    const r = buildResult(await runBench(plan));
    assert.equal(r.counts.ok, 100);
    // ~40 requests were due during the stall, waiting from 0 to 400 ms: well over a tenth of
    // the run is slower than 150 ms, and the worst waited about the whole stall. (Where p50
    // lies is not asserted: on a busy 2-core machine the held requests' burst, answered at
    // once in this same process, delays the ones after it too; that was seen at p50 305 ms.)
    assert.ok(r.latency.p90 > 150, `p90 ${r.latency.p90}`);
    assert.ok(r.latency.max >= STALL_MS * 0.8, `max ${r.latency.max}`);
    // The generator kept to its schedule through the stall.
    assert.equal(r.counts.sent, 100);
    assert.ok(r.maxInFlight >= 30, `in flight ${r.maxInFlight}`);
  });

  test('closed loop: one worker sees the stall once, and its percentiles hide it', async () => {
    const { plan } = buildPlan({ concurrency: '1', duration: '1s' }, [url]);
    stallUntil = performance.now() + STALL_MS;
    const r = buildResult(await runBench(plan));
    assert.ok(r.counts.ok > 5, `ok ${r.counts.ok}`);
    assert.ok(r.latency.max >= STALL_MS * 0.8, `max ${r.latency.max}`);
    // Relative to the run's own worst case, not to a wall-clock figure a busy machine can pass.
    assert.ok(r.latency.p90 < r.latency.max / 2, `p90 ${r.latency.p90}, max ${r.latency.max}: the closed loop's percentiles hide the stall`);
    assert.equal(r.maxInFlight, 1);
  });
});
