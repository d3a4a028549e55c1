import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../../../deploy/grafana/', import.meta.url));

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readFileSync(join(dir, 'sluice.json'), 'utf8')) as { uid: string; panels: Panel[] };
/** Every query, with Grafana's variables replaced by what Prometheus would receive. */
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*') })));

test('the committed dashboard is the output of deploy/grafana/build.mjs', async () => {
  await run(process.execPath, [join(dir, 'build.mjs'), '--check']);
});

test('the dashboard shows traffic, p50/p95/p99 latency, breakers, queues, cost and instances', () => {
  assert.equal(dashboard.uid, 'sluice-gateway');
  const all = queries.map((q) => q.expr).join('\n');
  for (const p of ['0.5', '0.95', '0.99']) assert.match(all, new RegExp(`histogram_quantile\\(${p.replace('.', '\\.')}, [^\\n]*sluice_request_duration_seconds_bucket`));
  for (const m of ['sluice_requests_total', 'sluice_breaker_state', 'sluice_queue_depth', 'sluice_cost_usd_total', 'sluice_state_store_up', 'sluice_process_resident_memory_bytes']) assert.ok(all.includes(m), m);
});

test('every query parses as PromQL (promtool check rules)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-grafana-'));
  try {
    const rules = `groups:\n  - name: dashboard\n    rules:\n${queries.map((q, i) => `      - record: dashboard:query:${i}\n        expr: ${JSON.stringify(q.expr)}\n`).join('')}`;
    writeFileSync(join(tmp, 'rules.yml'), rules);
    const { stdout } = await run('/usr/bin/promtool', ['check', 'rules', join(tmp, 'rules.yml')]);
    assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the dashboard reads only metrics the gateway exposes (docs/metrics.md)', () => {
  const documented = new Set([...readFileSync(join(dir, '../../docs/metrics.md'), 'utf8').matchAll(/^\| `(sluice_[a-z0-9_]+)`/gm)].map((m) => m[1]));
  let checked = 0;
  for (const { panel, expr } of queries) {
    for (const [, name] of expr.matchAll(/\b(sluice_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b(?=[{[\s)]|$)/g)) {
      assert.ok(documented.has(name), `${panel}: ${name} is not a documented metric`);
      checked++;
    }
  }
  assert.ok(checked >= queries.length, `${checked} metric names found in ${queries.length} queries`);
});
