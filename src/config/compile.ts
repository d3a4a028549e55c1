import { Secret } from '../lib/secret.js';
import type { MockOptions } from '../mock/options.js';
import type { CallTimeouts } from '../providers/types.js';
import type { BreakerConfig, Config, ProviderConfig, QueueConfig, RetryConfig, RouteConfig, RoutingConfig, StrategyName, TargetConfig } from './schema.js';
import type { HealthCheckConfig } from './schema.js';

/** The built-in mock provider and catch-all route used when a config declares no routes. */
export const DEFAULT_MOCK_PROVIDER = 'mock';
export const DEFAULT_MOCK_MODEL = 'mock-1';

export type Timeouts = CallTimeouts;

export interface HealthCheckPolicy {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface OpenAIProviderRuntime {
  readonly type: 'openai';
  readonly name: string;
  /** Scheme, host and port: the key of the upstream connection pool. */
  readonly origin: string;
  /** Path prefix of the API, without a trailing slash (e.g. "/v1"). */
  readonly basePath: string;
  readonly apiKey: Secret | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly timeouts: Timeouts;
  readonly healthCheck: HealthCheckPolicy | null;
}

export interface MockProviderRuntime {
  readonly type: 'mock';
  readonly name: string;
  readonly options: MockOptions;
  readonly healthCheck: HealthCheckPolicy | null;
}

export type ProviderRuntime = OpenAIProviderRuntime | MockProviderRuntime;

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly attempts: number;
  /** Upstream statuses that are retried; connection errors and timeouts always are. */
  readonly on: ReadonlySet<number>;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Retries may add at most this share of the route's requests… */
  readonly budget: number;
  /** …but at least this many per second, so low traffic can still retry. */
  readonly budgetMinPerSecond: number;
  /** A Retry-After longer than this is not waited for: the target is avoided instead. */
  readonly maxRetryAfterMs: number;
}

export interface BreakerPolicy {
  readonly enabled: boolean;
  readonly failureRatio: number;
  readonly minRequests: number;
  readonly windowMs: number;
  readonly consecutiveFailures: number;
  readonly openMs: number;
  readonly halfOpenProbes: number;
}

export interface QueuePolicy {
  readonly maxDepth: number;
  readonly timeoutMs: number;
  /** Whether clients may set their priority with `x-sluice-priority`. */
  readonly priorityHeader: boolean;
}

export interface CompiledTarget {
  readonly provider: string;
  /** The model sent upstream; null sends the model the client asked for. */
  readonly model: string | null;
  readonly weight: number;
  readonly region: string | null;
  readonly maxConcurrent: number;
  /** Provider-side limits for this target, per rolling minute; null = none. */
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** USD per million tokens; null = unknown (the cost strategy then ranks it last). */
  readonly price: { readonly input: number; readonly output: number } | null;
  /** The route's timeouts merged over the provider's; null when the route sets none. */
  readonly timeouts: Timeouts | null;
}

export interface CompiledRoute {
  readonly name: string;
  /** Exact model names or globs. */
  readonly patterns: readonly string[];
  readonly targets: readonly CompiledTarget[];
  readonly strategy: StrategyName;
  /** Model names tried in order when the route's own targets fail. */
  readonly fallback: readonly string[];
  readonly fallbackOn: ReadonlySet<number>;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerPolicy;
  readonly queue: QueuePolicy;
  /** Whole-exchange limit, stream included; null = none. */
  readonly totalTimeoutMs: number | null;
}

export interface RuntimeConfig {
  /** The file the config came from, or "(built-in default)". */
  readonly source: string;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimit: number;
    readonly drainTimeoutMs: number;
  };
  readonly logging: { readonly level: string };
  readonly routing: { readonly region: string | null; readonly regionHeader: string };
  readonly providers: Readonly<Record<string, ProviderRuntime>>;
  readonly routes: readonly CompiledRoute[];
}

export interface Overrides {
  host?: string | undefined;
  port?: number | undefined;
}

/** Built-in routing defaults; `routing` in the file overrides them, a route overrides that. */
export const DEFAULT_STATUSES = [429, 500, 502, 503, 504] as const;
const defaultRetry: Required<RetryConfig> = {
  attempts: 2,
  on: [...DEFAULT_STATUSES],
  backoffBase: 100,
  backoffMax: 2_000,
  budget: 0.2,
  budgetMinPerSecond: 5,
  maxRetryAfter: 2_000,
};
const defaultBreaker: Required<BreakerConfig> = {
  enabled: true,
  failureRatio: 0.5,
  minRequests: 10,
  window: 30_000,
  consecutiveFailures: 5,
  openFor: 30_000,
  halfOpenProbes: 1,
};
const defaultQueue: Required<QueueConfig> = { maxDepth: 100, timeout: 10_000, priorityHeader: false };

/** `{...a, ...b}` where keys set to undefined in b do not erase a's values. */
function merge<T extends object>(base: Required<T>, ...layers: (T | undefined)[]): Required<T> {
  const out = { ...base };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function healthPolicy(h: HealthCheckConfig | undefined): HealthCheckPolicy | null {
  return h === undefined ? null : { intervalMs: h.interval, timeoutMs: h.timeout, healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold };
}

function compileProvider(name: string, p: ProviderConfig): ProviderRuntime {
  if (p.type === 'mock') {
    const { type: _type, healthCheck, ...options } = p;
    return { type: 'mock', name, options, healthCheck: healthPolicy(healthCheck) };
  }
  const url = new URL(p.baseUrl);
  return {
    type: 'openai',
    name,
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    apiKey: p.apiKey === undefined ? null : new Secret(p.apiKey),
    headers: p.headers,
    connections: p.connections,
    timeouts: { connectMs: p.timeouts.connect, firstByteMs: p.timeouts.firstByte, idleMs: p.timeouts.idle },
    healthCheck: healthPolicy(p.healthCheck),
  };
}

/** Timeouts a provider uses when a route sets none: its own, or the defaults for the mock. */
function providerTimeouts(p: ProviderRuntime | undefined): Timeouts {
  return p?.type === 'openai' ? p.timeouts : { connectMs: 10_000, firstByteMs: 300_000, idleMs: 60_000 };
}

function compileTarget(t: TargetConfig, route: RouteConfig, providers: Readonly<Record<string, ProviderRuntime>>): CompiledTarget {
  const rt = route.timeouts;
  const base = providerTimeouts(providers[t.provider]);
  const timeouts =
    rt === undefined || (rt.connect === undefined && rt.firstByte === undefined && rt.idle === undefined)
      ? null
      : { connectMs: rt.connect ?? base.connectMs, firstByteMs: rt.firstByte ?? base.firstByteMs, idleMs: rt.idle ?? base.idleMs };
  return {
    provider: t.provider,
    model: t.model ?? null,
    weight: t.weight,
    region: t.region ?? null,
    maxConcurrent: t.maxConcurrent ?? Infinity,
    rpm: t.limits?.rpm ?? null,
    tpm: t.limits?.tpm ?? null,
    price: t.price ?? null,
    timeouts,
  };
}

function compileRoute(route: RouteConfig, index: number, routing: RoutingConfig, providers: Readonly<Record<string, ProviderRuntime>>): CompiledRoute {
  const patterns = typeof route.match === 'string' ? [route.match] : route.match;
  const retry = merge(defaultRetry, routing.retry, route.retry);
  const breaker = merge(defaultBreaker, routing.breaker, route.breaker);
  const queue = merge(defaultQueue, routing.queue, route.queue);
  return {
    name: route.name ?? (patterns.length === 1 ? patterns[0]! : `route-${index}`),
    patterns,
    targets: route.targets.map((t) => compileTarget(t, route, providers)),
    strategy: route.strategy ?? routing.strategy ?? 'failover',
    fallback: route.fallback ?? [],
    fallbackOn: new Set(route.fallbackOn ?? routing.fallbackOn ?? DEFAULT_STATUSES),
    retry: {
      attempts: retry.attempts,
      on: new Set(retry.on),
      backoffBaseMs: retry.backoffBase,
      backoffMaxMs: retry.backoffMax,
      budget: retry.budget,
      budgetMinPerSecond: retry.budgetMinPerSecond,
      maxRetryAfterMs: retry.maxRetryAfter,
    },
    breaker: {
      enabled: breaker.enabled,
      failureRatio: breaker.failureRatio,
      minRequests: breaker.minRequests,
      windowMs: breaker.window,
      consecutiveFailures: breaker.consecutiveFailures,
      openMs: breaker.openFor,
      halfOpenProbes: breaker.halfOpenProbes,
    },
    queue: { maxDepth: queue.maxDepth, timeoutMs: queue.timeout, priorityHeader: queue.priorityHeader },
    totalTimeoutMs: route.timeouts?.total ?? null,
  };
}

/** Default routing: `mock-1` by name, and every other model to the mock, echoing its name. */
function defaultRoutes(): RouteConfig[] {
  return [
    { name: DEFAULT_MOCK_MODEL, match: DEFAULT_MOCK_MODEL, targets: [{ provider: DEFAULT_MOCK_PROVIDER, model: DEFAULT_MOCK_MODEL, weight: 1 }] },
    { name: 'default', match: '*', targets: [{ provider: DEFAULT_MOCK_PROVIDER, weight: 1 }] },
  ];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof Secret) && !(value instanceof Set)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Compiles a validated config into the frozen runtime form the hot path reads. With no
 * `routes`, every model goes to the built-in mock provider; the `mock` provider is added
 * when the config declares no providers or no routes.
 */
export function compileConfig(config: Config, source: string, overrides: Overrides = {}): RuntimeConfig {
  const providersIn: Record<string, ProviderConfig> = { ...config.providers };
  const routesIn = config.routes ?? defaultRoutes();
  if (providersIn[DEFAULT_MOCK_PROVIDER] === undefined && (config.providers === undefined || config.routes === undefined)) {
    providersIn[DEFAULT_MOCK_PROVIDER] = {
      type: 'mock', latencyMs: 0, tokensPerSecond: 0, status: null, failRate: 0, dropAfterChunks: null, retryAfter: null, seed: 1,
    };
  }
  const providers: Record<string, ProviderRuntime> = {};
  for (const [name, p] of Object.entries(providersIn)) providers[name] = compileProvider(name, p);
  return deepFreeze({
    source,
    server: {
      host: overrides.host ?? config.server.host,
      port: overrides.port ?? config.server.port,
      bodyLimit: config.server.bodyLimit,
      drainTimeoutMs: config.server.drainTimeout,
    },
    logging: { level: config.logging.level },
    routing: { region: config.routing.region ?? null, regionHeader: config.routing.regionHeader.toLowerCase() },
    providers,
    routes: routesIn.map((r, i) => compileRoute(r, i, config.routing, providers)),
  });
}
