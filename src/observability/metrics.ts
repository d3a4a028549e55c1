import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestContext } from '../pipeline/context.js';
import type { EventBus } from './events.js';

/** Latency buckets in seconds: fine below 50 ms where gateway overhead lives, coarse above. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Prometheus metrics, fed by gateway events. Each gateway instance has its own registry.
 * Names and labels are part of the public interface: dashboards and alerts depend on them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'endpoint' | 'route' | 'provider' | 'status' | 'code'>;
  readonly #duration: Histogram<'endpoint' | 'route' | 'provider'>;
  readonly #ttfb: Histogram<'endpoint' | 'route' | 'provider'>;
  readonly #tokens: Counter<'route' | 'provider' | 'kind'>;

  constructor(bus: EventBus) {
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    this.#requests = new Counter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by endpoint, route, provider, HTTP status and error code ("" when none).',
      labelNames: ['endpoint', 'route', 'provider', 'status', 'code'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from request arrival to the last byte of the answer.',
      labelNames: ['endpoint', 'route', 'provider'],
      buckets: latencyBuckets,
      registers: [this.registry],
    });
    this.#ttfb = new Histogram({
      name: 'sluice_time_to_first_byte_seconds',
      help: 'Time from request arrival to the first byte sent to the client.',
      labelNames: ['endpoint', 'route', 'provider'],
      buckets: latencyBuckets,
      registers: [this.registry],
    });
    this.#tokens = new Counter({
      name: 'sluice_tokens_total',
      help: 'Tokens reported by upstreams, by kind (prompt, completion).',
      labelNames: ['route', 'provider', 'kind'],
      registers: [this.registry],
    });
    bus.on('request:end', (ctx) => this.#record(ctx));
  }

  #record(ctx: RequestContext): void {
    const route = ctx.route.name;
    const provider = ctx.target?.provider ?? '';
    this.#requests.inc({ endpoint: ctx.endpoint, route, provider, status: String(ctx.status), code: ctx.errorCode ?? '' });
    const labels = { endpoint: ctx.endpoint, route, provider };
    this.#duration.observe(labels, (ctx.endedAt - ctx.startedAt) / 1000);
    if (ctx.firstByteAt >= 0) this.#ttfb.observe(labels, (ctx.firstByteAt - ctx.startedAt) / 1000);
    if (ctx.usage !== null) {
      this.#tokens.inc({ route, provider, kind: 'prompt' }, ctx.usage.promptTokens);
      this.#tokens.inc({ route, provider, kind: 'completion' }, ctx.usage.completionTokens);
    }
  }

  /** Counts a request that failed before it reached a route (bad input, unknown model). */
  recordUnrouted(endpoint: string, status: number, code: string): void {
    this.#requests.inc({ endpoint, route: '', provider: '', status: String(status), code });
  }
}
