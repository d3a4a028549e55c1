import { availableParallelism } from 'node:os';
import { hashSecret, keyPrefix } from '../lib/hash.js';
import { Secret } from '../lib/secret.js';
import type { Redactor } from '../lib/redactor.js';
import { redactorFor } from './secrets.js';
import type { CallTimeouts } from '../providers/types.js';
import { compileProvider, type ProviderConfig, type ProviderRuntime } from '../providers/catalog.js';
import type { BreakerConfig, BudgetConfig, Config, JwtConfig, LimitsConfig, QueueConfig, RetryConfig, RouteConfig, RoutingConfig, StrategyName, TargetConfig } from './schema.js';
import { compileService, type CompiledService } from './services.js';
import { PriceBook, type ModelPrice } from '../tokens/prices.js';
import { compileRedisConnection, type RedisConnection } from '../stores/connection.js';
import { compileOidc, type OidcRuntime } from './oidc.js';
import { compileBatching, type EmbeddingBatching } from './batching.js';

/** The built-in mock provider and catch-all route used when a config declares no routes. */
export const DEFAULT_MOCK_PROVIDER = 'mock';
export const DEFAULT_MOCK_MODEL = 'mock-1';

export type Timeouts = CallTimeouts;

export type { HealthCheckPolicy } from './health-check.js';
// Provider runtime forms are declared with their provider (src/providers/<type>/config.ts).
export type { ProviderRuntime } from '../providers/catalog.js';
export type { OpenAIProviderRuntime } from '../providers/openai/config.js';
export type { MockProviderRuntime } from '../providers/mock/config.js';

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
  /** Added to the tier's priority for every request on the route (`queue.priority`). */
  readonly priority: number;
  /** Added by endpoint (`queue.priorityBy.endpoint`). */
  readonly priorityByEndpoint: Readonly<Partial<Record<string, number>>>;
  /** Added by the value of a request header (`queue.priorityBy.header`; name lowercased); null without. */
  readonly priorityByHeader: { readonly name: string; readonly values: ReadonlyMap<string, number> } | null;
}

export interface CompiledTarget {
  readonly provider: string;
  /** The model sent upstream; null sends the model the client asked for. */
  readonly model: string | null;
  readonly weight: number;
  readonly region: string | null;
  readonly maxConcurrent: number;
  /** Provider-side limits for this target, per rolling minute (and day); null = none. Counted across instances in the state store. */
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly rpd: number | null;
  /** USD per million tokens; null = unknown (the cost strategy then ranks it last). */
  readonly price: ModelPrice | null;
  /** The share of `maxConcurrent`, `rpm` and `tpm` batch lines may take (`batches.share`, issue 21); absent: 1. */
  readonly batchShare?: number;
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
  /** Limits on the route as a whole, all clients together. */
  readonly limits: Limits | null;
  /** Response caching; null = off. */
  readonly cache: RouteCache | null;
  /** Embeddings requests combined per target (issue 21); null = off. */
  readonly batching: EmbeddingBatching | null;
}

export interface RouteCache {
  readonly ttlMs: number;
  /** Whose answers may be shared: each key's own (default), a user's, a tier's, or everyone's. */
  readonly scope: 'key' | 'user' | 'tier' | 'shared';
  /** Cache answers sampled at temperature > 0 too. */
  readonly anyTemperature: boolean;
  /** Let clients shorten the TTL with `x-sluice-cache-ttl` (seconds). */
  readonly clientTtl: boolean;
  /** Bumping it invalidates the route's cached answers without a scan. */
  readonly version: number;
  /** The cache namespace; null = the route's name. Routes sharing one share answers (per tenant). */
  readonly namespace: string | null;
  /** How long past its TTL an entry may still be served when no target can answer. */
  readonly staleIfErrorMs: number;
  /** Semantic matching of prompts; null = exact only. */
  readonly semantic: SemanticCache | null;
}

export interface SemanticCache {
  /** The provider and embedding model prompts are embedded with. */
  readonly provider: string;
  readonly model: string;
  /** Cosine similarity at or above which a cached prompt's answer is served. */
  readonly threshold: number;
  /** Prompts the namespace's index keeps, oldest out first. */
  readonly maxEntries: number;
}

/** Request and token limits of one scope (tier, key, route, client IP). */
export interface Limits {
  readonly rps: number | null;
  readonly rpm: number | null;
  readonly rpd: number | null;
  readonly tpm: number | null;
  readonly tpd: number | null;
  readonly concurrent: number | null;
  readonly burst: number;
}

export interface Budget {
  readonly dailyUsd: number | null;
  readonly monthlyUsd: number | null;
  readonly alertAt: number;
}

export interface TierRuntime {
  readonly name: string;
  readonly limits: Limits | null;
  /** Per principal (user, else key). */
  readonly budget: Budget | null;
  /** All principals of the tier together. */
  readonly totalBudget: Budget | null;
  readonly priority: number;
  readonly priorityHeader: boolean;
}

/** A key declared in the config. Only its hash is kept. */
export interface ConfigKey {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly prefix: string;
  readonly tier: string;
  readonly user: string | null;
  readonly models: readonly string[] | null;
  readonly limits: Limits | null;
  readonly budget: Budget | null;
  readonly expiresAt: number | null;
}

export interface JwtRuntime {
  readonly secret: Secret | null;
  readonly publicKey: string | null;
  readonly jwksUrl: string | null;
  readonly algorithms: readonly string[];
  readonly issuer: string | null;
  readonly audience: string | null;
  readonly clockSkewMs: number;
  readonly maxAgeMs: number | null;
  /** Refuse tokens without `exp` (issue 15: they were accepted forever). */
  readonly requireExp: boolean;
  readonly userClaim: string;
  readonly tierClaim: string;
  readonly jwksCacheMaxAgeMs: number;
  /** Check tokens against session revocations in the state store (issue 22). */
  readonly revocation: boolean;
  /** The claim naming a token's session (`jti` when the token has none). */
  readonly sessionClaim: string;
  /** How long a revocation is kept: longer than any token lives. */
  readonly revocationTtlMs: number;
}

export interface UsageRuntime {
  readonly enabled: boolean;
  readonly spoolDir: string;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly fsync: 'always' | 'interval' | 'never';
  /** Records older than this are deleted; null keeps them. */
  readonly retentionMs: number | null;
}

/** What an admin token may do (issue 20): read everything, also manage virtual keys, or everything. */
export type AdminRole = 'viewer' | 'keys' | 'admin';

export interface AdminTokenRuntime {
  /** Shown in the audit log: `admin.tokens[].name`, or `token-<n>` for a bare token. */
  readonly name: string;
  readonly role: AdminRole;
  /** SHA-256 digest of the token. */
  readonly hash: string;
}

export interface RuntimeConfig {
  /** The file the config came from, or "(built-in default)". */
  readonly source: string;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimit: number;
    readonly drainTimeoutMs: number;
    /** The listening socket's queue of connections not yet accepted (capped by the kernel's somaxconn). */
    readonly backlog: number;
    readonly trustProxy: boolean | number | readonly string[];
    readonly cors: { readonly origins: readonly string[]; readonly credentials: boolean; readonly maxAgeMs: number };
    /** Client connections and streamed answers allowed at once, in all and per client address. */
    readonly limits: { readonly connections: number; readonly connectionsPerIp: number; readonly streams: number; readonly streamsPerIp: number };
    /** How long a stream waits for a client that accepts no bytes before cutting it off. */
    readonly streamWriteTimeoutMs: number;
    /** Data-plane processes (node:cluster); 1 = this process serves, no primary. */
    readonly workers: number;
  };
  /** `sampleRate`: share (0..1) of successful requests that get a request log line; failures always do. */
  readonly logging: { readonly level: string; readonly sampleRate: number };
  /** OpenTelemetry export; null = off. */
  readonly tracing: TracingRuntime | null;
  readonly auth: { readonly required: boolean; readonly jwt: JwtRuntime | null; readonly keyCacheTtlMs: number };
  readonly keys: readonly ConfigKey[];
  /** Always has a `default` tier. */
  readonly tiers: Readonly<Record<string, TierRuntime>>;
  readonly ipLimits: Limits | null;
  readonly state: { readonly redis: RedisConnection | null; readonly prefix: string; readonly timeoutMs: number; readonly failure: 'open' | 'closed'; readonly checkMs: number; readonly startupWaitMs: number };
  readonly database: {
    readonly url: string | null;
    /** Read replicas for analytics (the usage API); empty = read from `url`. */
    readonly replicas: readonly string[];
    readonly dataDir: string | null;
    readonly poolSize: number;
    readonly statementTimeoutMs: number;
  };
  readonly usage: UsageRuntime;
  /** The bundled price table with the config's `prices` over it. */
  readonly prices: PriceBook;
  /** The admin tokens: name, role and SHA-256 digest (the token itself is not kept). */
  readonly adminTokens: readonly AdminTokenRuntime[];
  readonly routing: { readonly region: string | null; readonly regionHeader: string };
  readonly cache: {
    /** Where answers live: this process, or Redis (`state.redis`) shared by every instance. */
    readonly backend: 'memory' | 'redis';
    readonly maxBytes: number;
    readonly maxEntryBytes: number;
    readonly waitMs: number;
    readonly leaseMs: number;
    readonly timeoutMs: number;
  };
  readonly providers: Readonly<Record<string, ProviderRuntime>>;
  readonly routes: readonly CompiledRoute[];
  /** HTTP routes to the system's own API instances (docs/http-routes.md). */
  readonly services: readonly CompiledService[];
  /** Scrubs the config's secrets and credential shapes from upstream text and log lines (issue 15). */
  readonly redactor: Redactor;
  /** Stored responses of /v1/responses (issue 18): how long they are kept. */
  readonly responses: { readonly retentionMs: number };
  /** Hot reload: whether the config file is watched, and how long changes settle before a reload. */
  readonly reload: { readonly watch: boolean; readonly debounceMs: number };
  /** Console sign-in through OpenID Connect (`admin.oidc`, issue 20); null = tokens only. */
  readonly adminOidc: OidcRuntime | null;
  /** The Files API (issue 21): the largest upload, and how long a file is kept. */
  readonly files: { readonly maxBytes: number; readonly retentionMs: number };
  /** The Batch API's runner (issue 21): lines in flight per instance, how often it looks for work, how long a claim holds. */
  readonly batches: {
    readonly concurrency: number;
    readonly pollIntervalMs: number;
    readonly leaseTtlMs: number;
    /** Providers whose own batch API takes batches (issue 21): true = every one that has one. */
    readonly passthrough: boolean | readonly string[];
    readonly passthroughPollMs: number;
    /** A passed-through line's price, as a multiple of the list price. */
    readonly priceMultiplier: number;
  };
}

export interface TracingRuntime {
  /** OTLP/HTTP (JSON) traces URL, e.g. http://collector:4318/v1/traces. */
  readonly endpoint: string;
  /** Sent with every export; values are secrets (collector API keys). */
  readonly headers: Readonly<Record<string, Secret>>;
  readonly serviceName: string;
  /** Share (0..1) of new traces sampled; a caller's `traceparent` decides for its own. */
  readonly sampleRate: number;
}

export interface Overrides {
  host?: string | undefined;
  port?: number | undefined;
}

/** Built-in routing defaults; `routing` in the file overrides them, a route overrides that. */
/** 529 is Anthropic's "overloaded". */
export const DEFAULT_STATUSES = [429, 500, 502, 503, 504, 529] as const;
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
const defaultQueue: Required<QueueConfig> = { maxDepth: 100, timeout: 10_000, priorityHeader: false, priority: 0, priorityBy: {} };

/** `{...a, ...b}` where keys set to undefined in b do not erase a's values. */
function merge<T extends object>(base: Required<T>, ...layers: (T | undefined)[]): Required<T> {
  const out = { ...base };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Timeouts a provider uses when a route sets none: its own, or the defaults for the mock. */
function providerTimeouts(p: ProviderRuntime | undefined): Timeouts {
  return p === undefined || p.type === 'mock' ? { connectMs: 10_000, firstByteMs: 300_000, idleMs: 60_000 } : p.timeouts;
}

function compileTarget(t: TargetConfig, route: RouteConfig, providers: Readonly<Record<string, ProviderRuntime>>, prices: PriceBook, batchShare: number): CompiledTarget {
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
    rpd: t.limits?.rpd ?? null,
    price: t.price ?? (t.model === undefined ? null : prices.lookup(t.model)),
    timeouts,
    batchShare,
  };
}

function compileRoute(route: RouteConfig, index: number, routing: RoutingConfig, providers: Readonly<Record<string, ProviderRuntime>>, prices: PriceBook, batchShare = 1): CompiledRoute {
  const patterns = typeof route.match === 'string' ? [route.match] : route.match;
  const retry = merge(defaultRetry, routing.retry, route.retry);
  const breaker = merge(defaultBreaker, routing.breaker, route.breaker);
  const queue = merge(defaultQueue, routing.queue, route.queue);
  return {
    name: route.name ?? (patterns.length === 1 ? patterns[0]! : `route-${index}`),
    patterns,
    targets: route.targets.map((t) => compileTarget(t, route, providers, prices, batchShare)),
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
    queue: {
      maxDepth: queue.maxDepth,
      timeoutMs: queue.timeout,
      priorityHeader: queue.priorityHeader,
      priority: queue.priority,
      priorityByEndpoint: queue.priorityBy.endpoint ?? {},
      priorityByHeader: queue.priorityBy.header === undefined ? null : { name: queue.priorityBy.header.name.toLowerCase(), values: new Map(Object.entries(queue.priorityBy.header.values)) },
    },
    totalTimeoutMs: route.timeouts?.total ?? null,
    limits: compileLimits(route.limits),
    batching: compileBatching(route.batching),
    cache:
      route.cache === undefined
        ? null
        : {
            ttlMs: route.cache.ttl,
            scope: route.cache.scope,
            anyTemperature: route.cache.anyTemperature,
            clientTtl: route.cache.clientTtl,
            version: route.cache.version,
            namespace: route.cache.namespace ?? null,
            staleIfErrorMs: route.cache.staleIfError,
            semantic: route.cache.semantic ?? null,
          },
  };
}

export function compileLimits(l: LimitsConfig | undefined): Limits | null {
  if (l === undefined) return null;
  return { rps: l.rps ?? null, rpm: l.rpm ?? null, rpd: l.rpd ?? null, tpm: l.tpm ?? null, tpd: l.tpd ?? null, concurrent: l.concurrent ?? null, burst: l.burst ?? 1 };
}

export function compileBudget(b: BudgetConfig | undefined): Budget | null {
  if (b === undefined || (b.daily === undefined && b.monthly === undefined)) return null;
  return { dailyUsd: b.daily ?? null, monthlyUsd: b.monthly ?? null, alertAt: b.alertAt };
}

function compileJwt(j: JwtConfig | undefined): JwtRuntime | null {
  if (j === undefined) return null;
  const asymmetric = j.publicKey !== undefined || j.jwksUrl !== undefined;
  return {
    secret: j.secret === undefined ? null : new Secret(j.secret),
    publicKey: j.publicKey ?? null,
    jwksUrl: j.jwksUrl ?? null,
    // Algorithms follow the key material, so an HS256 token can never be checked against a
    // public key (algorithm confusion) and `none` is never accepted.
    algorithms: j.algorithms ?? (asymmetric ? ['RS256', 'ES256', 'PS256', 'EdDSA'] : ['HS256']),
    issuer: j.issuer ?? null,
    audience: j.audience ?? null,
    clockSkewMs: j.clockSkew,
    maxAgeMs: j.maxAge ?? null,
    requireExp: j.requireExp,
    userClaim: j.userClaim,
    tierClaim: j.tierClaim,
    jwksCacheMaxAgeMs: j.jwksCacheMaxAge,
    revocation: j.revocation,
    sessionClaim: j.sessionClaim,
    revocationTtlMs: j.revocationTtl,
  };
}

function compileTiers(config: Config): Record<string, TierRuntime> {
  const out: Record<string, TierRuntime> = {};
  for (const [name, t] of Object.entries({ default: { priority: 0, priorityHeader: false }, ...config.tiers })) {
    const tier = t as { limits?: LimitsConfig; budget?: BudgetConfig; totalBudget?: BudgetConfig; priority: number; priorityHeader: boolean };
    out[name] = {
      name,
      limits: compileLimits(tier.limits),
      budget: compileBudget(tier.budget),
      totalBudget: compileBudget(tier.totalBudget),
      priority: tier.priority,
      priorityHeader: tier.priorityHeader,
    };
  }
  return out;
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
  const prices = new PriceBook(config.prices);
  const providers: Record<string, ProviderRuntime> = {};
  for (const [name, p] of Object.entries(providersIn)) providers[name] = compileProvider(name, p);
  return deepFreeze({
    source,
    server: {
      host: overrides.host ?? config.server.host,
      port: overrides.port ?? config.server.port,
      bodyLimit: config.server.bodyLimit,
      drainTimeoutMs: config.server.drainTimeout,
      backlog: config.server.backlog,
      trustProxy: config.server.trustProxy,
      cors: { origins: config.server.cors.origins, credentials: config.server.cors.credentials, maxAgeMs: config.server.cors.maxAge },
      limits: { connections: config.server.maxConnections, connectionsPerIp: config.server.maxConnectionsPerIp, streams: config.server.maxStreams, streamsPerIp: config.server.maxStreamsPerIp },
      streamWriteTimeoutMs: config.server.streamWriteTimeout,
      workers: config.server.workers === 'auto' ? availableParallelism() : config.server.workers,
    },
    logging: { level: config.logging.level, sampleRate: config.logging.sampleRate },
    tracing: compileTracing(config.tracing),
    auth: {
      required: config.auth.required ?? (config.keys.length > 0 || config.auth.jwt !== undefined),
      jwt: compileJwt(config.auth.jwt),
      keyCacheTtlMs: config.auth.keyCacheTtl,
    },
    keys: config.keys.map((k) => ({
      id: `config:${k.name}`,
      name: k.name,
      hash: hashSecret(k.key),
      prefix: keyPrefix(k.key),
      tier: k.tier,
      user: k.user ?? null,
      models: k.models ?? null,
      limits: compileLimits(k.limits),
      budget: compileBudget(k.budget),
      expiresAt: k.expiresAt === undefined ? null : Date.parse(k.expiresAt),
    })),
    tiers: compileTiers(config),
    ipLimits: compileLimits(config.limits.ip),
    state: { redis: config.state.redis === undefined ? null : compileRedisConnection(config.state.redis), prefix: config.state.prefix, timeoutMs: config.state.timeout, failure: config.state.failure, checkMs: config.state.checkInterval, startupWaitMs: config.state.startupWait },
    database: {
      url: config.database.url ?? null,
      // Replicas of the embedded database cannot exist: they only count with a server.
      replicas: config.database.url === undefined ? [] : config.database.replicas,
      dataDir: config.database.embedded === 'memory' ? null : config.database.dataDir,
      poolSize: config.database.poolSize,
      statementTimeoutMs: config.database.statementTimeout,
    },
    usage: {
      enabled: config.usage.enabled,
      spoolDir: config.usage.spoolDir,
      batchSize: config.usage.batchSize,
      flushIntervalMs: config.usage.flushInterval,
      fsync: config.usage.fsync,
      retentionMs: config.usage.retention ?? null,
    },
    prices,
    adminTokens: config.admin.tokens.map((t, i) => (typeof t === 'string' ? { name: `token-${i + 1}`, role: 'admin', hash: hashSecret(t) } : { name: t.name, role: t.role, hash: hashSecret(t.token) })),
    cache: {
      backend: config.cache.backend === 'auto' ? (config.state.redis === undefined ? 'memory' : 'redis') : config.cache.backend,
      maxBytes: config.cache.maxBytes,
      maxEntryBytes: config.cache.maxEntryBytes,
      waitMs: config.cache.wait,
      leaseMs: config.cache.lease,
      timeoutMs: config.cache.timeout,
    },
    routing: { region: config.routing.region ?? null, regionHeader: config.routing.regionHeader.toLowerCase() },
    providers,
    routes: routesIn.map((r, i) => compileRoute(r, i, config.routing, providers, prices, config.batches.share)),
    services: config.services.map(compileService),
    redactor: redactorFor(config),
    responses: { retentionMs: config.responses.retention },
    reload: { watch: config.reload.watch, debounceMs: config.reload.debounce },
    adminOidc: compileOidc(config.admin.oidc),
    files: { maxBytes: config.files.maxBytes, retentionMs: config.files.retention },
    batches: {
      concurrency: config.batches.concurrency,
      pollIntervalMs: config.batches.pollInterval,
      leaseTtlMs: config.batches.leaseTtl,
      passthrough: config.batches.passthrough,
      passthroughPollMs: config.batches.passthroughPoll,
      priceMultiplier: config.batches.priceMultiplier,
    },
  });
}

function compileTracing(t: Config['tracing']): TracingRuntime | null {
  if (t.endpoint === undefined) return null;
  return {
    endpoint: t.endpoint,
    headers: Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, new Secret(v)])),
    serviceName: t.serviceName,
    sampleRate: t.sampleRate,
  };
}
