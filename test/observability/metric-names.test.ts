import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EventBus } from '../../src/observability/events.js';
import { Metrics } from '../../src/observability/metrics.js';
import { registerKeyMetrics } from '../../src/observability/key-metrics.js';
import { registerBatchMetrics, registerPassthroughMetrics } from '../../src/observability/batch-metrics.js';

/**
 * Every metric the gateway exposes, with its type and label names. Names and labels are a
 * public interface (dashboards, alerts in deploy/prometheus): renaming one must be a
 * deliberate change here, in docs/metrics.md and in the alert rules, never an accident.
 */
const pinned: readonly (readonly [name: string, type: string, labels: string])[] = [
  // prom-client's default process and Node.js metrics, under the sluice_ prefix.
  ['sluice_process_cpu_user_seconds_total', 'counter', ''],
  ['sluice_process_cpu_system_seconds_total', 'counter', ''],
  ['sluice_process_cpu_seconds_total', 'counter', ''],
  ['sluice_process_start_time_seconds', 'gauge', ''],
  ['sluice_process_resident_memory_bytes', 'gauge', ''],
  ['sluice_process_virtual_memory_bytes', 'gauge', ''],
  ['sluice_process_heap_bytes', 'gauge', ''],
  ['sluice_process_open_fds', 'gauge', ''],
  ['sluice_process_max_fds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_min_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_max_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_mean_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_stddev_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_p50_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_p90_seconds', 'gauge', ''],
  ['sluice_nodejs_eventloop_lag_p99_seconds', 'gauge', ''],
  ['sluice_nodejs_active_resources', 'gauge', 'type'],
  ['sluice_nodejs_active_resources_total', 'gauge', ''],
  ['sluice_nodejs_active_handles', 'gauge', 'type'],
  ['sluice_nodejs_active_handles_total', 'gauge', ''],
  ['sluice_nodejs_active_requests', 'gauge', 'type'],
  ['sluice_nodejs_active_requests_total', 'gauge', ''],
  ['sluice_nodejs_heap_size_total_bytes', 'gauge', ''],
  ['sluice_nodejs_heap_size_used_bytes', 'gauge', ''],
  ['sluice_nodejs_external_memory_bytes', 'gauge', ''],
  ['sluice_nodejs_heap_space_size_total_bytes', 'gauge', 'space'],
  ['sluice_nodejs_heap_space_size_used_bytes', 'gauge', 'space'],
  ['sluice_nodejs_heap_space_size_available_bytes', 'gauge', 'space'],
  ['sluice_nodejs_version_info', 'gauge', 'version,major,minor,patch'],
  ['sluice_nodejs_gc_duration_seconds', 'histogram', 'kind'],
  // The gateway's own.
  ['sluice_requests_total', 'counter', 'endpoint,route,provider,model,status,code'],
  ['sluice_request_duration_seconds', 'histogram', 'endpoint,route,provider,model'],
  ['sluice_time_to_first_byte_seconds', 'histogram', 'endpoint,route,provider,model'],
  ['sluice_upstream_duration_seconds', 'histogram', 'endpoint,route,provider,model'],
  ['sluice_gateway_overhead_seconds', 'histogram', 'endpoint,route,provider,model'],
  ['sluice_tokens_total', 'counter', 'route,provider,model,kind'],
  ['sluice_cost_usd_total', 'counter', 'route,provider,model'],
  ['sluice_retries_total', 'counter', 'route'],
  ['sluice_fallbacks_total', 'counter', 'route,fallback'],
  ['sluice_queue_wait_seconds', 'histogram', 'route'],
  ['sluice_breaker_transitions_total', 'counter', 'route,target,to'],
  ['sluice_breaker_state', 'gauge', 'route,target'],
  ['sluice_target_in_flight', 'gauge', 'route,target'],
  ['sluice_queue_depth', 'gauge', 'route,target'],
  ['sluice_limit_rejections_total', 'counter', 'route,policy'],
  ['sluice_budget_alerts_total', 'counter', 'period'],
  ['sluice_cache_results_total', 'counter', 'route,result'],
  ['sluice_state_store_up', 'gauge', ''],
  ['sluice_cache_bytes', 'gauge', ''],
  ['sluice_cache_entries', 'gauge', ''],
  ['sluice_cache_evictions', 'gauge', ''],
  ['sluice_cache_errors', 'gauge', ''],
  ['sluice_open_connections', 'gauge', ''],
  ['sluice_open_streams', 'gauge', ''],
  ['sluice_connections_refused_total', 'counter', 'code'],
  ['sluice_config_reloads_total', 'counter', 'result'],
  ['sluice_config_version', 'gauge', ''],
  // Provider API key pools (issue 21): by key id (a hash prefix of the provider's key), never by client.
  ['sluice_provider_key_requests_total', 'counter', 'provider,key_id'],
  ['sluice_provider_key_rests_total', 'counter', 'provider,key_id'],
  ['sluice_provider_key_removals_total', 'counter', 'provider,key_id'],
  ['sluice_provider_key_state', 'gauge', 'provider,key_id'],
  ['sluice_provider_key_rest_seconds', 'gauge', 'provider,key_id'],
  // Embeddings batching (issue 21).
  ['sluice_embeddings_batched_requests_total', 'counter', 'route,target'],
  ['sluice_embeddings_batch_calls_total', 'counter', 'route,target'],
  ['sluice_embeddings_calls_saved_total', 'counter', 'route,target'],
  ['sluice_embeddings_batch_wait_seconds_total', 'counter', 'route,target'],
  // Batch pass-through to the providers' batch APIs (issue 21).
  ['sluice_batch_passthrough_events_total', 'counter', 'provider,event'],
];

/** What the registry exposes, in the pinned shape (the state store gauge exists only with Redis, the cache gauges with a caching route). */
async function exposed(): Promise<string[]> {
  const metrics = new Metrics(new EventBus());
  metrics.watchStateStore(() => true);
  metrics.watchCache(() => ({ bytes: 0, entries: 0, evictions: 0, errors: 0 }));
  metrics.watchEdge(() => ({ connections: 0, streams: 0 }));
  metrics.watchReloads(() => 1);
  registerKeyMetrics(metrics.registry, () => []);
  registerBatchMetrics(metrics.registry, () => []);
  registerPassthroughMetrics(metrics.registry);
  const rows: string[] = [];
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const labelNames = (metrics.registry.getSingleMetric(m.name) as unknown as { labelNames: readonly string[] }).labelNames;
    rows.push(`${m.name} ${String(m.type)} ${labelNames.join(',')}`);
  }
  return rows;
}

test('metric names, types and label names are pinned (a rename is a deliberate change)', async () => {
  assert.deepEqual((await exposed()).sort(), pinned.map(([name, type, labels]) => `${name} ${type} ${labels}`).sort());
});

test('no label on any metric identifies a client (bounded cardinality)', async () => {
  for (const row of await exposed()) {
    const [name, , labels = ''] = row.split(' ');
    for (const label of labels.split(',')) assert.ok(!['key', 'user', 'principal', 'ip', 'client', 'request_id'].includes(label), `${name} has a per-client label ${label}`);
  }
});

const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');

/** Rows of the reference tables: | `name` | type | `label`, `label` or — | meaning | */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(sluice_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (m === null) continue;
    const labels = m[3] === '—' ? '' : [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]).join(',');
    rows.set(m[1]!, `${m[2]!} ${labels}`);
  }
  return rows;
}

test('docs/metrics.md documents every metric with its type and labels, and nothing else', () => {
  const rows = documented();
  for (const [name, type, labels] of pinned) assert.equal(rows.get(name), `${type} ${labels}`, `${name} in docs/metrics.md`);
  for (const name of rows.keys()) assert.ok(pinned.some(([n]) => n === name), `${name} is documented but not exposed`);
});
