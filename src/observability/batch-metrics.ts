import { Counter, type Registry } from 'prom-client';
import type { RouteRuntime } from '../routing/route-runtime.js';
import type { EmbeddingBatcher } from '../routing/embeddings-batcher.js';

/**
 * Metrics of embeddings batching (issue 21), by route and target, read from the batchers when
 * Prometheus scrapes. Upstream calls saved = batched requests − batch calls; the latency batching
 * added is the wait total over the batched requests.
 */
export function registerBatchMetrics(registry: Registry, routes: () => Iterable<RouteRuntime>): void {
  const counter = (name: string, help: string, value: (b: EmbeddingBatcher) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['route', 'target'],
      registers: [registry],
      collect() {
        this.reset();
        for (const rt of routes()) for (const t of rt.targets) if (t.batcher !== null) this.inc({ route: rt.route.name, target: t.label }, value(t.batcher));
      },
    });
  };
  counter('sluice_embeddings_batched_requests_total', 'Embeddings requests sent upstream as part of a batch (alone when no other came within the window), by route and target.', (b) => b.requests);
  counter('sluice_embeddings_batch_calls_total', 'Upstream calls made for batched embeddings requests, by route and target.', (b) => b.calls);
  counter('sluice_embeddings_calls_saved_total', 'Upstream calls saved by embeddings batching (batched requests − batch calls), by route and target.', (b) => b.requests - b.calls);
  counter('sluice_embeddings_batch_wait_seconds_total', 'Seconds batched embeddings requests waited for their batch to be sent, summed: the latency batching added.', (b) => b.waitedMs / 1000);
}

/**
 * Batches passed through to the providers' own batch APIs (issue 21): what happened to them,
 * by provider (`submitted`, `refused`, `ended`, `cancel_sent`, `error`). Returns the listener
 * the provider batch runner calls.
 */
export function registerPassthroughMetrics(registry: Registry): (provider: string, event: string) => void {
  const counter = new Counter({
    name: 'sluice_batch_passthrough_events_total',
    help: "Steps of batches passed through to a provider's batch API, by provider and event (submitted, refused, ended, cancel_sent, error).",
    labelNames: ['provider', 'event'],
    registers: [registry],
  });
  return (provider, event) => counter.inc({ provider, event });
}
