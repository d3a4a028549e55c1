import { Secret } from '../lib/secret.js';
import type { MockOptions } from '../mock/options.js';
import type { CallTimeouts } from '../providers/types.js';
import type { Config, ProviderConfig, RouteConfig } from './schema.js';

/** The built-in mock provider and catch-all route used when a config declares no routes. */
export const DEFAULT_MOCK_PROVIDER = 'mock';
export const DEFAULT_MOCK_MODEL = 'mock-1';

export type Timeouts = CallTimeouts;

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
}

export interface MockProviderRuntime {
  readonly type: 'mock';
  readonly name: string;
  readonly options: MockOptions;
}

export type ProviderRuntime = OpenAIProviderRuntime | MockProviderRuntime;

export interface CompiledTarget {
  readonly provider: string;
  /** The model sent upstream; null sends the model the client asked for. */
  readonly model: string | null;
}

export interface CompiledRoute {
  readonly name: string;
  /** Exact model names or globs. */
  readonly patterns: readonly string[];
  readonly targets: readonly CompiledTarget[];
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
  readonly providers: Readonly<Record<string, ProviderRuntime>>;
  readonly routes: readonly CompiledRoute[];
}

export interface Overrides {
  host?: string | undefined;
  port?: number | undefined;
}

function compileProvider(name: string, p: ProviderConfig): ProviderRuntime {
  if (p.type === 'mock') {
    const { type: _type, ...options } = p;
    return { type: 'mock', name, options };
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
  };
}

function compileRoute(route: RouteConfig, index: number): CompiledRoute {
  const patterns = typeof route.match === 'string' ? [route.match] : route.match;
  return {
    name: route.name ?? (patterns.length === 1 ? patterns[0]! : `route-${index}`),
    patterns,
    targets: route.targets.map((t) => ({ provider: t.provider, model: t.model ?? null })),
  };
}

/** Default routing: `mock-1` by name, and every other model to the mock, echoing its name. */
function defaultRoutes(): RouteConfig[] {
  return [
    { name: DEFAULT_MOCK_MODEL, match: DEFAULT_MOCK_MODEL, targets: [{ provider: DEFAULT_MOCK_PROVIDER, model: DEFAULT_MOCK_MODEL }] },
    { name: 'default', match: '*', targets: [{ provider: DEFAULT_MOCK_PROVIDER }] },
  ];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof Secret)) {
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
    providers,
    routes: routesIn.map(compileRoute),
  });
}
