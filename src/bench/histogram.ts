/**
 * HDR histograms of latencies. Values are recorded in whole microseconds with 3 significant
 * digits (±0.1%) from 1 µs up to an hour, growing as needed, so a p99.9 is read from the
 * whole distribution rather than from a sample or a mean.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export type { Histogram };

const HOUR_US = 3_600_000_000;

export function createHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in (fractional) milliseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(0, Math.round(ms * 1000)));
}

/** A histogram read as milliseconds; every field is 0 when nothing was recorded. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    min: us(h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue),
    mean: us(h.mean),
    p50: us(at(h, 50)),
    p90: us(at(h, 90)),
    p99: us(at(h, 99)),
    p999: us(at(h, 99.9)),
    max: us(h.maxValue),
  };
}

/** A percentile (0 < p <= 100) in milliseconds, or null without data. */
export function percentileMs(h: Histogram, p: number): number | null {
  if (h.totalCount === 0) return null;
  return us(at(h, p));
}

/**
 * HDR reports a percentile as the top of its ±0.1% bucket, which can lie above the largest
 * value actually recorded; the max is exact, so percentiles are capped at it.
 */
function at(h: Histogram, p: number): number {
  return p >= 100 ? h.maxValue : Math.min(h.getValueAtPercentile(p), h.maxValue);
}

export interface CurvePoint {
  percentile: number;
  ms: number;
}

/**
 * The percentile curve on the usual log scale: `ticksPerDecade` points between 0, 90, 99,
 * 99.9 … up to the last percentile the sample size supports, then the max.
 */
export function percentileCurve(h: Histogram, ticksPerDecade = 10): CurvePoint[] {
  const n = h.totalCount;
  if (n === 0) return [];
  const out: CurvePoint[] = [];
  for (let k = 0; ; k++) {
    const tail = 10 ** (-k / ticksPerDecade); // the fraction above this percentile
    if (tail * n < 1) break; // fewer than one sample above: the max says it
    const p = 100 * (1 - tail);
    out.push({ percentile: roundTo(p, 6), ms: us(at(h, p)) });
  }
  out.push({ percentile: 100, ms: us(h.maxValue) });
  return out;
}

function us(v: number): number {
  return roundTo(v / 1000, 3);
}

function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
