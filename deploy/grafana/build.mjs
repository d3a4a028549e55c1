#!/usr/bin/env node
// Writes deploy/grafana/sluice.json, the Grafana dashboard for the metrics in docs/metrics.md.
// Edit the panels here and run `node deploy/grafana/build.mjs`; test/deploy/grafana.test.ts
// checks that the committed JSON is this script's output, that every query parses (promtool)
// and that it reads only documented metrics.
/* global URL */
import { readFileSync, writeFileSync } from 'node:fs';

const q = (expr, legend) => ({ expr, legendFormat: legend, refId: '' });
const byRoute = 'sum by (route)';
const quantile = (p, metric, by = 'le') => `histogram_quantile(${p}, sum by (${by}) (rate(${metric}_bucket{job=~"$job"}[$__rate_interval])))`;

/** Rows of panels: [title, unit, targets, options]. */
const rows = [
  [
    'Traffic',
    [
      ['Requests/s by route', 'reqps', [q(`${byRoute} (rate(sluice_requests_total{job=~"$job"}[$__rate_interval]))`, '{{route}}')]],
      ['Error ratio (5xx)', 'percentunit', [q('sum(rate(sluice_requests_total{job=~"$job",status=~"5.."}[$__rate_interval])) / clamp_min(sum(rate(sluice_requests_total{job=~"$job"}[$__rate_interval])), 1e-9)', '5xx share')]],
      ['Answers by status', 'reqps', [q('sum by (status) (rate(sluice_requests_total{job=~"$job"}[$__rate_interval]))', '{{status}}')]],
      ['Errors by code', 'reqps', [q('sum by (code) (rate(sluice_requests_total{job=~"$job",code!=""}[$__rate_interval]))', '{{code}}')]],
    ],
  ],
  [
    'Latency',
    [
      ['Request duration p50 / p95 / p99', 's', [0.5, 0.95, 0.99].map((p) => q(quantile(p, 'sluice_request_duration_seconds'), `p${Math.round(p * 100)}`))],
      ['Time to first byte p50 / p95 / p99', 's', [0.5, 0.95, 0.99].map((p) => q(quantile(p, 'sluice_time_to_first_byte_seconds'), `p${Math.round(p * 100)}`))],
      ['Gateway overhead p99 by route', 's', [q(quantile(0.99, 'sluice_gateway_overhead_seconds', 'le, route'), '{{route}}')]],
      ['Upstream duration p95 by provider', 's', [q(quantile(0.95, 'sluice_upstream_duration_seconds', 'le, provider'), '{{provider}}')]],
    ],
  ],
  [
    'Providers and routing',
    [
      ['Circuit breakers (0 closed, 1 half-open, 2 open)', 'none', [q('max by (route, target) (sluice_breaker_state{job=~"$job"})', '{{route}} {{target}}')]],
      ['In flight per target', 'none', [q('sum by (target) (sluice_target_in_flight{job=~"$job"})', '{{target}}')]],
      ['Queue depth per target', 'none', [q('sum by (route, target) (sluice_queue_depth{job=~"$job"})', '{{route}} {{target}}')]],
      ['Retries and fallbacks', 'reqps', [q(`${byRoute} (rate(sluice_retries_total{job=~"$job"}[$__rate_interval]))`, 'retries {{route}}'), q('sum by (fallback) (rate(sluice_fallbacks_total{job=~"$job"}[$__rate_interval]))', 'fallback to {{fallback}}')]],
    ],
  ],
  [
    'Tokens, cost and limits',
    [
      ['Tokens/s by model', 'none', [q('sum by (model, kind) (rate(sluice_tokens_total{job=~"$job"}[$__rate_interval]))', '{{model}} {{kind}}')]],
      ['Cost USD per hour by model', 'currencyUSD', [q('sum by (model) (rate(sluice_cost_usd_total{job=~"$job"}[$__rate_interval])) * 3600', '{{model}}')]],
      ['Limit rejections by policy', 'reqps', [q('sum by (policy) (rate(sluice_limit_rejections_total{job=~"$job"}[$__rate_interval]))', '{{policy}}')]],
      ['Cache results', 'reqps', [q('sum by (result) (rate(sluice_cache_results_total{job=~"$job"}[$__rate_interval]))', '{{result}}')]],
    ],
  ],
  [
    'Instances',
    [
      ['Shared state store up', 'none', [q('min by (instance) (sluice_state_store_up{job=~"$job"})', '{{instance}}')]],
      ['CPU (share of a core)', 'percentunit', [q('rate(sluice_process_cpu_seconds_total{job=~"$job"}[$__rate_interval])', '{{instance}}')]],
      ['Resident memory', 'bytes', [q('sluice_process_resident_memory_bytes{job=~"$job"}', '{{instance}}')]],
      ['Event-loop delay p99', 's', [q('sluice_nodejs_eventloop_lag_p99_seconds{job=~"$job"}', '{{instance}}')]],
    ],
  ],
];

const panels = [];
let id = 1;
let y = 0;
for (const [title, row] of rows) {
  panels.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
  y += 1;
  row.forEach(([panelTitle, unit, targets], i) => {
    panels.push({
      id: id++,
      type: 'timeseries',
      title: panelTitle,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      fieldConfig: { defaults: { unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
      targets: targets.map((t, j) => ({ ...t, refId: String.fromCharCode(65 + j), datasource: { type: 'prometheus', uid: '${datasource}' } })),
      gridPos: { h: 8, w: 6, x: 6 * i, y },
    });
  });
  y += 8;
}

const dashboard = {
  title: 'Sluice',
  uid: 'sluice-gateway',
  description: 'Traffic, latency percentiles, providers, tokens, cost, limits and instances of Sluice gateways (metrics: docs/metrics.md).',
  tags: ['sluice', 'gateway', 'llm'],
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  editable: true,
  refresh: '30s',
  time: { from: 'now-3h', to: 'now' },
  templating: {
    list: [
      { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source', current: {} },
      { name: 'job', type: 'query', label: 'Job', datasource: { type: 'prometheus', uid: '${datasource}' }, query: 'label_values(sluice_requests_total, job)', includeAll: true, multi: true, allValue: '.*', current: {}, refresh: 2 },
    ],
  },
  panels,
};

const out = new URL('./sluice.json', import.meta.url);
const text = `${JSON.stringify(dashboard, null, 2)}\n`;
if (process.argv.includes('--check')) {
  // For the test: the committed dashboard is what this script makes.
  if (readFileSync(out, 'utf8') !== text) {
    process.stderr.write('deploy/grafana/sluice.json is not the output of build.mjs: run node deploy/grafana/build.mjs\n');
    process.exit(1);
  }
} else writeFileSync(out, text);
