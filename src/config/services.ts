import { compileLimits, type HealthCheckPolicy, type Limits } from './compile.js';
import type { ServiceConfig } from './schema.js';

/** The runtime form of one `services[]` entry (an HTTP route to the system's own instances). */
export interface CompiledService {
  readonly name: string;
  /** Lower-case host without port; null matches any host. */
  readonly host: string | null;
  readonly pathPrefix: string;
  /** Upper-case methods; null matches every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly instances: readonly CompiledInstance[];
  readonly balance: ServiceBalance;
  readonly healthCheck: (HealthCheckPolicy & { readonly path: string }) | null;
  readonly outlier: { readonly consecutiveFailures: number; readonly ejectionMs: number } | null;
  readonly retry: {
    readonly attempts: number;
    readonly methods: ReadonlySet<string>;
    readonly on: ReadonlySet<number>;
    /** Retries may add at most this share of the service's requests, but `budgetMinPerSecond` always. */
    readonly budget: number;
    readonly budgetMinPerSecond: number;
  };
  /** What replaces the matched prefix upstream; null keeps the path as it came. */
  readonly rewritePrefix: string | null;
  /** null: `auth.required` of the gateway decides. */
  readonly authRequired: boolean | null;
  readonly limits: Limits | null;
  readonly ipLimits: Limits | null;
  readonly bodyLimit: number | null;
  readonly responseLimit: number | null;
  readonly timeouts: { readonly connectMs: number; readonly firstByteMs: number; readonly idleMs: number };
  readonly connections: number;
  /** Smallest body compressed; null: compression off. */
  readonly compressMinBytes: number | null;
  readonly websocket: boolean;
  /** Pass the Sluice credential (the header Sluice authenticated with) on to the instances. */
  readonly forwardCredentials: boolean;
  /** GET/HEAD response caching; null = off. */
  readonly cache: ServiceCache | null;
  /** Forward paths with `%2F`/`%5C` (kept encoded) instead of refusing them (http/path.ts). */
  readonly allowEncodedSlashes: boolean;
}

/** A service's body limit when it sets none: a 1 GB upload was forwarded whole (issue 15). */
export const DEFAULT_SERVICE_BODY_LIMIT = 10 * 1024 * 1024;

export interface ServiceCache {
  /** Freshness when the upstream's Cache-Control gives none. */
  readonly ttlMs: number;
  readonly version: number;
  /** Cache answers to authenticated requests too, each principal's apart. */
  readonly perPrincipal: boolean;
}

export interface CompiledInstance {
  /** `scheme://host:port`, the pool key. */
  readonly origin: string;
  /** `host:port` as the Host header sent upstream. */
  readonly host: string;
  /** The URL's path without a trailing slash ("" for none): prepended to every upstream path. */
  readonly basePath: string;
  /** The URL as configured, for logs and metric labels. */
  readonly url: string;
  readonly weight: number;
}

export type AffinitySource = 'header' | 'cookie' | 'ip' | 'path';

export interface ServiceBalance {
  /** `round-robin` is compiled to `weighted` (smooth weighted round robin; equal weights alternate). */
  readonly strategy: 'weighted' | 'least-busy' | 'latency' | 'failover' | 'consistent-hash';
  readonly hashOn: { readonly source: AffinitySource; readonly name: string } | null;
  readonly sticky: { readonly kind: 'cookie' | 'header'; readonly name: string; readonly ttlMs: number } | null;
}

function compileInstance(url: string, weight: number): CompiledInstance {
  const u = new URL(url);
  return { origin: u.origin, host: u.host, basePath: u.pathname.replace(/\/+$/, ''), url, weight };
}

export function compileService(s: ServiceConfig): CompiledService {
  const b = s.balance;
  const sticky = b.sticky === undefined ? null : b.sticky.cookie !== undefined ? { kind: 'cookie' as const, name: b.sticky.cookie, ttlMs: b.sticky.ttl } : { kind: 'header' as const, name: b.sticky.header!.toLowerCase(), ttlMs: b.sticky.ttl };
  const h = s.healthCheck;
  const prefix = s.match.pathPrefix;
  return {
    name: s.name,
    host: s.match.host?.toLowerCase().replace(/:\d+$/, '') ?? null,
    pathPrefix: prefix,
    methods: s.match.methods === undefined ? null : new Set(s.match.methods),
    instances: s.instances.map((i) => compileInstance(i.url, i.weight)),
    balance: {
      strategy: b.strategy === 'round-robin' ? 'weighted' : b.strategy,
      hashOn: b.hashOn === undefined ? null : { source: b.hashOn.source, name: (b.hashOn.name ?? '').toLowerCase() },
      sticky,
    },
    healthCheck: h === undefined ? null : { path: h.path, intervalMs: h.interval, timeoutMs: h.timeout, healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold },
    outlier: s.outlier === undefined ? null : { consecutiveFailures: s.outlier.consecutiveFailures, ejectionMs: s.outlier.ejectionTime },
    retry: { attempts: s.retry.attempts, methods: new Set(s.retry.methods), on: new Set(s.retry.on), budget: s.retry.budget, budgetMinPerSecond: s.retry.budgetMinPerSecond },
    rewritePrefix: s.rewrite?.replacePrefix ?? (s.rewrite?.stripPrefix === true ? '/' : null),
    authRequired: s.auth?.required ?? null,
    limits: compileLimits(s.limits),
    ipLimits: requestLimitsOnly(compileLimits(s.ipLimits)),
    bodyLimit: s.bodyLimit ?? DEFAULT_SERVICE_BODY_LIMIT,
    responseLimit: s.responseLimit ?? null,
    timeouts: { connectMs: s.timeouts.connect, firstByteMs: s.timeouts.firstByte, idleMs: s.timeouts.idle },
    connections: s.connections,
    compressMinBytes: s.compression === false ? null : s.compression === true ? 1024 : s.compression.minSize,
    websocket: s.websocket,
    forwardCredentials: s.forwardCredentials,
    cache: s.cache === undefined ? null : { ttlMs: s.cache.ttl, version: s.cache.version, perPrincipal: s.cache.perPrincipal },
    allowEncodedSlashes: s.allowEncodedSlashes,
  };
}

/** Per-IP limits count requests: nothing about a client IP is known in tokens. */
function requestLimitsOnly(l: Limits | null): Limits | null {
  return l === null ? null : { ...l, tpm: null, tpd: null };
}
