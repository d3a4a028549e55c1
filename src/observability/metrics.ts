import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteRuntime } from '../routing/route-runtime.js';
import type { RequestSummary } from '../exchange/summary.js';
import type { EventBus } from './events.js';
import type { StoreStats } from '../policies/cache/store.js';
import { costUsd } from '../tokens/cost.js';
import type { ModelPrice } from '../tokens/prices.js';
import { SeriesCounter, SeriesHistogram, type CounterCell, type HistogramCell } from './series.js';

/** Latency buckets in seconds: fine below 50 ms where gateway overhead lives, coarse above. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Gateway overhead buckets in seconds: it should stay well below a millisecond. */
const overheadBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

type RequestLabel = 'endpoint' | 'route' | 'provider' | 'model';

/** The request metrics' cells for one endpoint, route, provider and model. */
interface RequestSeries {
  readonly labels: Readonly<Record<RequestLabel, string>>;
  readonly duration: HistogramCell;
  readonly ttfb: HistogramCell;
  readonly upstream: HistogramCell;
  readonly overhead: HistogramCell;
  readonly promptTokens: CounterCell;
  readonly completionTokens: CounterCell;
  readonly cost: CounterCell;
  /** `sluice_requests_total` cells by status (no error code) … */
  readonly byStatus: Map<number, CounterCell>;
  /** … and by status and error code. */
  readonly byError: Map<string, CounterCell>;
}

/**
 * Prometheus metrics, fed by gateway events. Each gateway instance has its own registry.
 * Names and labels are part of the public interface: dashboards and alerts depend on them.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Renders /metrics: this registry, or, in a cluster worker, every worker's aggregated by the primary (`server.workers`). */
  render: () => Promise<{ contentType: string; text: string }> = async () => ({ contentType: this.registry.contentType, text: await this.registry.metrics() });
  readonly #requests: SeriesCounter<RequestLabel | 'status' | 'code'>;
  readonly #duration: SeriesHistogram<RequestLabel>;
  readonly #ttfb: SeriesHistogram<RequestLabel>;
  readonly #upstream: SeriesHistogram<RequestLabel>;
  readonly #overhead: SeriesHistogram<RequestLabel>;
  readonly #tokens: SeriesCounter<'route' | 'provider' | 'model' | 'kind'>;
  readonly #cost: SeriesCounter<'route' | 'provider' | 'model'>;
  /** Request series by endpoint, route, provider and model (joined): bounded by the config. */
  readonly #series = new Map<string, RequestSeries>();
  readonly #retries: Counter<'route'>;
  readonly #fallbacks: Counter<'route' | 'fallback'>;
  readonly #queueWait: Histogram<'route'>;
  readonly #breakerTransitions: Counter<'route' | 'target' | 'to'>;

  readonly #priceOf: (ctx: RequestSummary) => ModelPrice | null;

  /** `priceOf` gives the price of what answered a request, for the cost counter. */
  constructor(bus: EventBus, routes: () => Iterable<RouteRuntime> = () => [], priceOf: (ctx: RequestSummary) => ModelPrice | null = () => null) {
    this.#priceOf = priceOf;
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    const requestLabels: RequestLabel[] = ['endpoint', 'route', 'provider', 'model'];
    this.#requests = new SeriesCounter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by endpoint, route, provider, model, HTTP status and error code ("" when none).',
      labelNames: [...requestLabels, 'status', 'code'],
      registers: [this.registry],
    });
    const histogram = (name: string, help: string, buckets: number[]): SeriesHistogram<RequestLabel> =>
      new SeriesHistogram({ name, help, labelNames: requestLabels, buckets, registers: [this.registry] });
    this.#duration = histogram('sluice_request_duration_seconds', 'Time from request arrival to the last byte of the answer.', latencyBuckets);
    this.#ttfb = histogram('sluice_time_to_first_byte_seconds', 'Time from request arrival to the first byte sent to the client.', latencyBuckets);
    this.#upstream = histogram(
      'sluice_upstream_duration_seconds',
      'Time from sending the answering upstream attempt to its response (headers, or the whole body when not streamed).',
      latencyBuckets,
    );
    this.#overhead = histogram(
      'sluice_gateway_overhead_seconds',
      "Time to first byte minus the answering upstream attempt's time: what the gateway added (admission, queueing, retries, translation).",
      overheadBuckets,
    );
    this.#tokens = new SeriesCounter({
      name: 'sluice_tokens_total',
      help: 'Tokens reported by upstreams, by kind (prompt, completion).',
      labelNames: ['route', 'provider', 'model', 'kind'],
      registers: [this.registry],
    });
    this.#cost = new SeriesCounter({
      name: 'sluice_cost_usd_total',
      help: "Cost in USD of the tokens upstreams reported, at the target's configured price or the bundled price table.",
      labelNames: ['route', 'provider', 'model'],
      registers: [this.registry],
    });
    this.#retries = new Counter({ name: 'sluice_retries_total', help: 'Upstream attempts after the first, by route.', labelNames: ['route'], registers: [this.registry] });
    this.#fallbacks = new Counter({
      name: 'sluice_fallbacks_total',
      help: 'Requests answered by a fallback model, by route and fallback.',
      labelNames: ['route', 'fallback'],
      registers: [this.registry],
    });
    this.#queueWait = new Histogram({
      name: 'sluice_queue_wait_seconds',
      help: 'Time requests waited in an admission queue for a target at capacity.',
      labelNames: ['route'],
      buckets: latencyBuckets,
      registers: [this.registry],
    });
    this.#breakerTransitions = new Counter({
      name: 'sluice_breaker_transitions_total',
      help: 'Circuit breaker state changes, by route, target and new state.',
      labelNames: ['route', 'target', 'to'],
      registers: [this.registry],
    });
    // Live state is read when Prometheus scrapes, not tracked on the request path.
    const breakerValue = { closed: 0, 'half-open': 1, open: 2 } as const;
    new Gauge({
      name: 'sluice_breaker_state',
      help: 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open.',
      labelNames: ['route', 'target'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const rt of routes()) for (const t of rt.targets) if (t.breaker !== null) this.set({ route: rt.route.name, target: t.label }, breakerValue[t.breaker.state]);
      },
    });
    new Gauge({
      name: 'sluice_target_in_flight',
      help: 'Requests in flight per target.',
      labelNames: ['route', 'target'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const rt of routes()) for (const t of rt.targets) this.set({ route: rt.route.name, target: t.label }, t.inFlight);
      },
    });
    new Gauge({
      name: 'sluice_queue_depth',
      help: 'Requests waiting in the admission queue per target.',
      labelNames: ['route', 'target'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const rt of routes()) for (const t of rt.targets) if (t.gate !== null) this.set({ route: rt.route.name, target: t.label }, t.gate.queued);
      },
    });
    const rejections = new Counter({
      name: 'sluice_limit_rejections_total',
      help: 'Requests refused by a limit or budget, by route ("" before routing) and policy (e.g. principal-rpm, ip-rps, budget-daily).',
      labelNames: ['route', 'policy'],
      registers: [this.registry],
    });
    const budgetAlerts = new Counter({
      name: 'sluice_budget_alerts_total',
      help: 'Budgets that crossed their alert share, by period.',
      labelNames: ['period'],
      registers: [this.registry],
    });
    const cacheResults = new SeriesCounter({
      name: 'sluice_cache_results_total',
      help: 'Response cache outcomes by route: hit, miss, coalesced (answered by an identical request in flight), stale (served past its TTL because no target answered), bypass.',
      labelNames: ['route', 'result'],
      registers: [this.registry],
    });
    bus.on('request:end', (ctx) => {
      if (ctx.cacheResult !== null) cacheResults.cell(`${ctx.route.name}\u0001${ctx.cacheResult}`, { route: ctx.route.name, result: ctx.cacheResult }).pending++;
    });
    // HTTP services count under their name: one metric for every cache.
    bus.on('http:end', (ctx) => {
      if (ctx.cacheResult !== null) cacheResults.cell(`${ctx.service}\u0001${ctx.cacheResult}`, { route: ctx.service, result: ctx.cacheResult }).pending++;
    });
    bus.on('limit:rejected', (e) => rejections.inc({ route: e.route, policy: e.policy }));
    bus.on('budget:alert', (a) => budgetAlerts.inc({ period: a.period }));
    bus.on('request:end', (ctx) => this.#record(ctx));
    bus.on('breaker:transition', (e) => this.#breakerTransitions.inc({ route: e.route, target: e.target, to: e.to }));
  }

  #record(ctx: RequestSummary): void {
    const route = ctx.route.name;
    const provider = ctx.target?.provider ?? '';
    const model = modelLabel(ctx);
    const endpoint = ctx.endpoint;
    const id = `${endpoint}\u0001${route}\u0001${provider}\u0001${model}`;
    const series = this.#series.get(id) ?? this.#newSeries(id, { endpoint, route, provider, model });
    this.#outcome(series, ctx.status, ctx.errorCode).pending++;
    series.duration.add((ctx.endedAt - ctx.startedAt) / 1000);
    if (ctx.firstByteAt >= 0) {
      const ttfbMs = ctx.firstByteAt - ctx.startedAt;
      series.ttfb.add(ttfbMs / 1000);
      if (ctx.upstreamMs >= 0) series.overhead.add(Math.max(0, ttfbMs - ctx.upstreamMs) / 1000);
    }
    if (ctx.upstreamMs >= 0) series.upstream.add(ctx.upstreamMs / 1000);
    if (ctx.retries > 0) this.#retries.inc({ route }, ctx.retries);
    if (ctx.fallbackModel !== null) this.#fallbacks.inc({ route, fallback: ctx.fallbackModel });
    if (ctx.queueWaitMs > 0) this.#queueWait.observe({ route }, ctx.queueWaitMs / 1000);
    if (ctx.usage !== null) {
      series.promptTokens.pending += ctx.usage.promptTokens;
      series.completionTokens.pending += ctx.usage.completionTokens;
      const cost = costUsd(ctx.usage, this.#priceOf(ctx));
      if (cost > 0) series.cost.pending += cost;
    }
  }

  #newSeries(id: string, labels: Record<RequestLabel, string>): RequestSeries {
    const { route, provider, model } = labels;
    const series: RequestSeries = {
      labels,
      duration: this.#duration.cell(id, labels),
      ttfb: this.#ttfb.cell(id, labels),
      upstream: this.#upstream.cell(id, labels),
      overhead: this.#overhead.cell(id, labels),
      promptTokens: this.#tokens.cell(`${id}\u0001prompt`, { route, provider, model, kind: 'prompt' }),
      completionTokens: this.#tokens.cell(`${id}\u0001completion`, { route, provider, model, kind: 'completion' }),
      cost: this.#cost.cell(id, { route, provider, model }),
      byStatus: new Map(),
      byError: new Map(),
    };
    this.#series.set(id, series);
    return series;
  }

  /** The `sluice_requests_total` cell of a series for one status and error code. */
  #outcome(series: RequestSeries, status: number, code: string | null): CounterCell {
    const errorKey = code === null ? '' : `${status} ${code}`;
    let cell = code === null ? series.byStatus.get(status) : series.byError.get(errorKey);
    if (cell === undefined) {
      const labels = { ...series.labels, status: String(status), code: code ?? '' };
      cell = this.#requests.cell(Object.values(labels).join('\u0001'), labels);
      if (code === null) series.byStatus.set(status, cell);
      else series.byError.set(errorKey, cell);
    }
    return cell;
  }

  /**
   * Client connections and streams open now (against `server.maxConnections` / `maxStreams`),
   * and connections refused over those limits, which never become requests (issue 15).
   * Returns the function that counts a refusal.
   */
  watchEdge(open: () => { readonly connections: number; readonly streams: number }): (code: string) => void {
    new Gauge({ name: 'sluice_open_connections', help: 'Client connections open now (refused ones included until they close).', registers: [this.registry], collect() { this.set(open().connections); } });
    new Gauge({ name: 'sluice_open_streams', help: 'Streamed model answers open now.', registers: [this.registry], collect() { this.set(open().streams); } });
    const refused = new Counter({ name: 'sluice_connections_refused_total', help: 'Client connections refused over server.maxConnections or maxConnectionsPerIp, by error code.', labelNames: ['code'], registers: [this.registry] });
    return (code) => refused.inc({ code });
  }

  /** Exposes the shared state store's health (1 reachable, 0 down: limits are per instance or refused). */
  watchStateStore(healthy: () => boolean): void {
    new Gauge({
      name: 'sluice_state_store_up',
      help: 'Whether the shared state store (Redis) answers: 1 yes, 0 no (state.failure decides what happens meanwhile).',
      registers: [this.registry],
      // Across a cluster's workers (server.workers): 0 when any worker's store is down.
      aggregator: 'min',
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    });
  }

  /** Exposes the config version serving; returns what counts each reload attempt (issue 20). */
  watchReloads(version: () => number): (result: 'success' | 'failure') => void {
    const reloads = new Counter({ name: 'sluice_config_reloads_total', help: 'Config reloads by result (success: swapped in; failure: refused, the old config kept serving).', labelNames: ['result'], registers: [this.registry] });
    new Gauge({
      name: 'sluice_config_version',
      help: 'The config version serving: 1 at start, +1 per successful reload.',
      registers: [this.registry],
      // Across a cluster's workers: the oldest version any of them serves.
      aggregator: 'min',
      collect() {
        this.set(version());
      },
    });
    return (result) => reloads.inc({ result });
  }

  /** Exposes the response cache's size, evictions and backend errors. */
  watchCache(stats: () => StoreStats): void {
    const gauge = (name: string, help: string, read: (s: StoreStats) => number | null, aggregator: 'max' | 'sum' = 'max'): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        // A cluster's workers share one cache (server.workers): each reports the same figures, so they are not added up; errors are each worker's own.
        aggregator,
        collect() {
          const v = read(stats());
          if (v !== null) this.set(v);
        },
      });
    };
    gauge('sluice_cache_bytes', 'Bytes the in-process response cache holds (memory backend).', (s) => s.bytes);
    gauge('sluice_cache_entries', 'Answers the in-process response cache holds (memory backend).', (s) => s.entries);
    gauge('sluice_cache_evictions', 'Answers dropped from the in-process cache to make room since start (only grows).', (s) => s.evictions);
    gauge('sluice_cache_errors', 'Cache backend calls that failed and were read as misses, since start (only grows).', (s) => s.errors, 'sum');
  }

  /** Counts a request that failed before it reached a route (bad input, unknown model). */
  recordUnrouted(endpoint: string, status: number, code: string): void {
    this.#requests.inc({ endpoint, route: '', provider: '', model: '', status: String(status), code });
  }
}

/**
 * The `model` label: the model sent upstream, kept to names from the config so clients
 * cannot grow the label set. A target that passes the client's model through reports it
 * only when the route (or the fallback that answered) names it exactly; otherwise "*".
 */
function modelLabel(ctx: RequestSummary): string {
  const t = ctx.target;
  if (t === null) return '';
  if (t.model !== null) return t.model;
  if (ctx.fallbackModel !== null) return ctx.fallbackModel;
  return ctx.route.patterns.includes(ctx.model) ? ctx.model : '*';
}
