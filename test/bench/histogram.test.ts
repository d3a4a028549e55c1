import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHistogram, percentileCurve, percentileMs, recordMs, summarize } from '../../src/bench/histogram.js';

/** Within HDR's 3 significant digits (±0.1%) plus rounding to the microsecond. */
function near(actual: number | null, expected: number): void {
  assert.notEqual(actual, null);
  assert.ok(Math.abs((actual as number) - expected) <= expected * 0.001 + 0.001, `expected ≈${expected}, got ${actual}`);
}

describe('HDR histogram summaries', () => {
  test('1 … 1000 ms once each: percentiles are the order statistics', () => {
    const h = createHistogram();
    for (let ms = 1; ms <= 1000; ms++) recordMs(h, ms);
    const s = summarize(h);
    assert.equal(s.count, 1000);
    near(s.min, 1);
    near(s.p50, 500);
    near(s.p90, 900);
    near(s.p99, 990);
    near(s.p999, 999);
    near(s.max, 1000);
    near(s.mean, 500.5);
  });

  test('a tail: 990 fast requests and 10 slow ones put p99 on the fast side and p99.9 on the slow', () => {
    const h = createHistogram();
    for (let i = 0; i < 990; i++) recordMs(h, 2);
    for (let i = 0; i < 10; i++) recordMs(h, 800);
    const s = summarize(h);
    near(s.p50, 2);
    near(s.p99, 2);
    near(s.p999, 800);
    near(s.max, 800);
  });

  test('sub-millisecond values keep microsecond resolution', () => {
    const h = createHistogram();
    recordMs(h, 0.123);
    recordMs(h, 0.456);
    near(percentileMs(h, 50), 0.123);
    near(percentileMs(h, 100), 0.456);
  });

  test('long values (an hour and beyond) are recorded, the histogram grows', () => {
    const h = createHistogram();
    recordMs(h, 5);
    recordMs(h, 2 * 3_600_000);
    near(summarize(h).max, 7_200_000);
  });

  test('an empty histogram summarises to zeros and has no percentiles', () => {
    const h = createHistogram();
    assert.deepEqual(summarize(h), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    assert.equal(percentileMs(h, 99), null);
    assert.deepEqual(percentileCurve(h), []);
  });

  test('the percentile curve is non-decreasing, stops where samples run out, and ends at the max', () => {
    const h = createHistogram();
    for (let ms = 1; ms <= 1000; ms++) recordMs(h, ms);
    const curve = percentileCurve(h, 5);
    assert.equal(curve[0]?.percentile, 0);
    for (let i = 1; i < curve.length; i++) {
      assert.ok((curve[i]?.ms as number) >= (curve[i - 1]?.ms as number));
      assert.ok((curve[i]?.percentile as number) > (curve[i - 1]?.percentile as number));
    }
    const last = curve[curve.length - 1];
    assert.deepEqual(last, { percentile: 100, ms: 1000 });
    // 1000 samples support percentiles up to 99.9 (one sample above), not 99.99.
    const before = curve[curve.length - 2]?.percentile as number;
    assert.ok(before >= 99.8 && before <= 99.9, String(before));
  });
});
