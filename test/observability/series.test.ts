import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../../src/observability/series.js';

const buckets = [0.005, 0.001, 0.01, 0.1, 1];
const labelNames = ['route', 'model'] as const;

test("a SeriesHistogram renders exactly what prom-client's Histogram renders for the same observations", async () => {
  const plainRegistry = new Registry();
  const seriesRegistry = new Registry();
  const plain = new Histogram({ name: 'h_seconds', help: 'h', labelNames, buckets, registers: [plainRegistry] });
  const series = new SeriesHistogram({ name: 'h_seconds', help: 'h', labelNames, buckets, registers: [seriesRegistry] });
  const a = series.cell('a', { route: 'r1', model: 'm' });
  const b = series.cell('b', { route: 'r2', model: 'm' });
  const observations: [typeof a, { route: string; model: string }, number][] = [
    [a, { route: 'r1', model: 'm' }, 0.0004],
    [a, { route: 'r1', model: 'm' }, 0.001], // on a bound: counts in that bucket (le is inclusive)
    [a, { route: 'r1', model: 'm' }, 0.07],
    [a, { route: 'r1', model: 'm' }, 5], // above every bound: +Inf only
    [b, { route: 'r2', model: 'm' }, 0.3],
  ];
  for (const [cell, labels, v] of observations) {
    cell.add(v);
    plain.observe(labels, v);
  }
  // The plain API still works on a SeriesHistogram, beside the cells.
  series.observe({ route: 'r3', model: 'x' }, 0.02);
  plain.observe({ route: 'r3', model: 'x' }, 0.02);
  const lines = (text: string) => text.trim().split('\n').sort();
  assert.deepEqual(lines(await seriesRegistry.metrics()), lines(await plainRegistry.metrics()));
  const json = async (r: Registry) => {
    const values = (await r.getMetricsAsJSON())[0]!.values as { metricName?: string; labels: Record<string, unknown>; value: number }[];
    return values.map((v) => JSON.stringify([v.metricName, Object.entries(v.labels).sort(), v.value])).sort();
  };
  assert.deepEqual(await json(seriesRegistry), await json(plainRegistry));
  series.reset();
  assert.doesNotMatch(await seriesRegistry.metrics(), /h_seconds_count\{/);
});

test('a SeriesCounter adds what its cells gathered when read, once, beside plain inc()', async () => {
  const registry = new Registry();
  const c = new SeriesCounter({ name: 'c_total', help: 'c', labelNames: ['route'], registers: [registry] });
  const cell = c.cell('r1', { route: 'r1' });
  cell.pending += 3;
  c.inc({ route: 'r1' }, 2);
  c.inc({ route: 'r2' });
  assert.match(await registry.metrics(), /c_total\{route="r1"\} 5\n/);
  assert.match(await registry.metrics(), /c_total\{route="r1"\} 5\n/, 'reading twice does not count twice');
  cell.pending++;
  const text = await registry.metrics();
  assert.match(text, /c_total\{route="r1"\} 6\n/);
  assert.match(text, /c_total\{route="r2"\} 1/);
  assert.ok(new SeriesCounter({ name: 'd_total', help: 'd', registers: [] }) instanceof Counter);
});
