import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';

/** promtool comes with Debian's `prometheus` package; .ci/run installs it when missing. */
const promtool = '/usr/bin/promtool';
const dir = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
const run = promisify(execFile);

async function promtoolOk(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(promtool, args, { cwd: dir, timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`promtool ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

test('deploy/prometheus/alerts.yml is valid and the example config loads it', async () => {
  assert.match(await promtoolOk('check', 'rules', 'alerts.yml'), /SUCCESS: 7 rules found/);
  assert.match(await promtoolOk('check', 'config', 'prometheus.yml'), /SUCCESS/);
});

test('the alert rules fire on the series in alerts.test.yml and only there (promtool test rules)', async () => {
  assert.match(await promtoolOk('test', 'rules', 'alerts.test.yml'), /SUCCESS/);
});

test('every alert rule has a unit test', () => {
  const rules = [...readFileSync(`${dir}alerts.yml`, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const tested = new Set([...readFileSync(`${dir}alerts.test.yml`, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
  assert.equal(rules.length, 7);
  for (const rule of rules) assert.ok(tested.has(rule), `${rule} has no test in alerts.test.yml`);
});

test('the alert rules use only metrics the gateway exposes (docs/metrics.md)', () => {
  const documented = new Set([...readFileSync(`${dir}../../docs/metrics.md`, 'utf8').matchAll(/^\| `(sluice_[a-z0-9_]+)`/gm)].map((m) => m[1]));
  const used = [...readFileSync(`${dir}alerts.yml`, 'utf8').matchAll(/\b(sluice_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b(?=[{[\s)]|$)/gm)].map((m) => m[1]!);
  assert.ok(used.length >= 7);
  for (const name of used) assert.ok(documented.has(name), `alerts.yml uses ${name}, which is not a documented metric`);
});
