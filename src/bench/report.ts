/**
 * `--report FILE.html`: one self-contained page (inline CSS and SVG, no scripts, nothing
 * fetched) with the summary, latency over time, throughput over time and the percentile curve.
 */
import type { CurvePoint, LatencySummary } from './histogram.js';
import { fmtMs, formatSummary } from './format.js';
import type { BenchResult } from './result.js';
import { escapeHtml, lineChart, timeTicks, type Series, type Tick } from './svg.js';

/** x position of a percentile on the usual "number of nines" axis: 0→0, 90→1, 99→2, 99.9→3. */
export function ninesX(percentile: number): number {
  if (percentile >= 100) return Number.NaN;
  return Math.log10(100 / (100 - percentile));
}

function curveSeries(name: string, color: string, curve: CurvePoint[]): Series {
  return { name, color, points: curve.filter((c) => c.percentile < 100).map((c) => [ninesX(c.percentile), c.ms] as [number, number]) };
}

function curveTicks(curves: CurvePoint[][]): Tick[] {
  const deepest = Math.max(1, ...curves.flat().filter((c) => c.percentile < 100).map((c) => Math.ceil(ninesX(c.percentile) - 1e-9)));
  const labels = ['0', '90', '99', '99.9', '99.99', '99.999', '99.9999'];
  return labels.slice(0, deepest + 1).map((label, i) => ({ value: i, label: `p${label}` }));
}

function row(name: string, s: LatencySummary): string {
  if (s.count === 0) return `<tr><th>${name}</th><td colspan="6">no data</td></tr>`;
  return `<tr><th>${name}</th>${[s.p50, s.p90, s.p99, s.p999, s.max].map((v) => `<td>${fmtMs(v)}</td>`).join('')}<td>${s.count}</td></tr>`;
}

export function renderReport(r: BenchResult): string {
  const tMax = r.timeline.length === 0 ? 1 : (r.timeline[r.timeline.length - 1]?.t ?? 1);
  const xt = timeTicks(tMax);
  const interval = r.timeline.length > 1 ? (r.timeline[1]?.t ?? 1) - (r.timeline[0]?.t ?? 0) : 1;
  const perS = (n: number): number => n / (interval > 0 ? interval : 1);
  const withData = r.timeline.filter((p) => p.ok > 0);
  const latencyOverTime = lineChart({
    title: `Latency over time (ms, log scale; ${r.latencyFrom === 'schedule' ? 'from the scheduled start' : 'from send'}), by completion second`,
    series: [
      { name: 'p50', color: '#2b7bb9', points: withData.map((p) => [p.t, p.p50]) },
      { name: 'p99', color: '#d1495b', points: withData.map((p) => [p.t, p.p99]) },
      { name: 'max', color: '#999999', points: withData.map((p) => [p.t, p.max]), dashed: true },
    ],
    xTicks: xt,
    xLabel: 'seconds since start',
    yLabel: 'ms',
    yLog: true,
  });
  const rateSeries: Series[] = [
    { name: 'ok/s', color: '#2e8b57', points: r.timeline.map((p) => [p.t, perS(p.ok)]) },
    { name: 'errors/s', color: '#d1495b', points: r.timeline.map((p) => [p.t, perS(p.errors)]) },
    { name: 'in flight', color: '#999999', points: r.timeline.map((p) => [p.t, p.inFlight]), dashed: true },
  ];
  if (r.mode === 'open') rateSeries.unshift({ name: 'scheduled/s', color: '#6a4c93', points: r.timeline.map((p) => [p.t, perS(p.scheduled)]), dashed: true });
  if (r.streaming !== null) rateSeries.push({ name: 'open streams', color: '#f4a261', points: r.timeline.map((p) => [p.t, p.openStreams]) });
  const throughput = lineChart({ title: 'Throughput and concurrency over time', series: rateSeries, xTicks: xt, xLabel: 'seconds since start', yLabel: 'per second / count' });
  const curves = [r.percentiles, ...(r.ttftPercentiles === null ? [] : [r.ttftPercentiles])];
  const curveSeriesList = [curveSeries('latency', '#d1495b', r.percentiles)];
  if (r.ttftPercentiles !== null) curveSeriesList.push(curveSeries('time to first token', '#2b7bb9', r.ttftPercentiles));
  const curve = lineChart({ title: 'Percentile curve (ms, log scale)', series: curveSeriesList, xTicks: curveTicks(curves), xLabel: 'percentile', yLabel: 'ms', yLog: true });

  const rows = [row(`latency (${r.latencyFrom === 'schedule' ? 'from schedule' : 'from send'})`, r.latency)];
  if (r.latencyFrom === 'schedule') rows.push(row('service time (from send)', r.serviceTime));
  if (r.startLag !== null) rows.push(row('generator start lag', r.startLag));
  if (r.streaming !== null) {
    rows.push(row('time to first token', r.streaming.ttft), row('gap between tokens', r.streaming.interToken), row('worst gap per stream', r.streaming.maxGapPerStream));
  }
  const slo =
    r.slo === null
      ? ''
      : `<h2>SLO</h2><table><tr><th>objective</th><th>measured</th><th></th></tr>${r.slo.map((s) => `<tr><td>${escapeHtml(s.text)}</td><td>${s.actual === null ? 'no data' : Math.round(s.actual * 1000) / 1000}</td><td class="${s.ok ? 'ok' : 'fail'}">${s.ok ? 'ok' : 'FAIL'}</td></tr>`).join('')}</table>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sluice bench — ${escapeHtml(r.url)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}th{text-align:left;font-weight:600}
pre{background:#f6f6f6;padding:10px;overflow-x:auto;font-size:12px}
svg{display:block;margin:12px 0;background:#fff}svg .g{stroke:#eee}svg text{font:11px system-ui,sans-serif;fill:#555}
svg .t{font-size:13px;fill:#222}svg .xl{text-anchor:middle}svg .yl{text-anchor:end;dominant-baseline:middle}
.ok{color:#2e8b57}.fail{color:#d1495b;font-weight:700}.empty{color:#888}
</style></head><body>
<h1>sluice bench</h1>
<p>${escapeHtml(r.url)} · POST ${escapeHtml(r.endpoint)} · ${r.stream ? 'streaming' : 'JSON'} · ${r.mode === 'open' ? `open loop (${escapeHtml(r.load.description ?? '')})` : `closed loop, ${r.load.concurrency ?? 0} workers`} · started ${escapeHtml(r.startedAt)} · node ${escapeHtml(r.generator.node)}</p>
<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>count</th></tr>${rows.join('')}</table>
${slo}
<h2>Latency over time</h2>${latencyOverTime}
<h2>Throughput</h2>${throughput}
<h2>Percentiles</h2>${curve}
<h2>Summary</h2><pre>${escapeHtml(formatSummary(r))}</pre>
</body></html>
`;
}
