import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';

/**
 * How Sluice reaches Redis (issue 20): one server by URL, a Redis Cluster by a list of node
 * URLs, or a master found through Sentinel. The config's `state.redis` is parsed by
 * `redisConnectionSchema`, compiled once by `compileRedisConnection`, and every user of Redis
 * (the state store, the response cache and its coalescing) opens its clients from that one
 * description with `openRedis`.
 */
export type RedisConnection = StandaloneConnection | ClusterConnection | SentinelConnection;

export interface StandaloneConnection {
  readonly mode: 'standalone';
  /** redis:// or rediss://, with credentials and database as ioredis reads them. */
  readonly url: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ClusterConnection {
  readonly mode: 'cluster';
  /** Startup nodes: the client learns the others (and the slot map) from any one of them. */
  readonly nodes: readonly HostPort[];
  readonly username: string | null;
  readonly password: string | null;
  readonly tls: boolean;
}

export interface SentinelConnection {
  readonly mode: 'sentinel';
  readonly sentinels: readonly HostPort[];
  /** The master group's name, as in the sentinels' `sentinel monitor <name> …`. */
  readonly name: string;
  readonly password: string | null;
  readonly sentinelPassword: string | null;
  readonly tls: boolean;
  readonly db: number;
}

export type RedisMode = RedisConnection['mode'];

const redisUrl = z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL');
const hostPortText = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):\d{1,5}$/, 'must be host:port');

const sentinelSchema = z.strictObject({
  sentinels: z.array(hostPortText).min(1, 'must list at least one sentinel'),
  name: z.string().min(1),
  password: z.string().min(1).optional(),
  sentinelPassword: z.string().min(1).optional(),
  tls: z.boolean().default(false),
  db: z.number().int().min(0).max(15).default(0),
});

/** `state.redis`: a URL, a list of Cluster node URLs, or Sentinel settings. */
export const redisConnectionSchema = z.union([
  redisUrl,
  z
    .array(redisUrl)
    .min(1, 'must list at least one Cluster node')
    .refine((urls) => new Set(urls.map((u) => u.startsWith('rediss:'))).size === 1, 'every Cluster node URL must use the same scheme (redis:// or rediss://)'),
  sentinelSchema,
]);

export type RedisConnectionConfig = z.infer<typeof redisConnectionSchema>;

/** The compiled form of `state.redis`; the schema has checked its shape. */
export function compileRedisConnection(config: RedisConnectionConfig): RedisConnection {
  if (typeof config === 'string') return { mode: 'standalone', url: config };
  if (Array.isArray(config)) {
    const urls = config.map((u) => new URL(u));
    const withPassword = urls.find((u) => u.password !== '' || u.username !== '');
    return {
      mode: 'cluster',
      nodes: urls.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 6379 : Number(u.port) })),
      username: withPassword === undefined || withPassword.username === '' ? null : decodeURIComponent(withPassword.username),
      password: withPassword === undefined || withPassword.password === '' ? null : decodeURIComponent(withPassword.password),
      tls: urls[0]!.protocol === 'rediss:',
    };
  }
  return {
    mode: 'sentinel',
    sentinels: config.sentinels.map(parseHostPort),
    name: config.name,
    password: config.password ?? null,
    sentinelPassword: config.sentinelPassword ?? null,
    tls: config.tls,
    db: config.db,
  };
}

/** The passwords a `state.redis` holds, for the redactor. */
export function redisSecrets(config: RedisConnectionConfig | undefined): string[] {
  if (config === undefined) return [];
  if (typeof config === 'string' || Array.isArray(config)) {
    const out: string[] = [];
    for (const url of typeof config === 'string' ? [config] : config) {
      const password = urlPassword(url);
      if (password !== '') out.push(password, encodeURIComponent(password));
    }
    return out;
  }
  return [config.password, config.sentinelPassword].filter((p): p is string => p !== undefined);
}

export interface OpenRedisOptions {
  /**
   * Queue commands while connecting or reconnecting (blocking readers), or fail them at once
   * (the store and the cache: their callers decide what an unavailable Redis means).
   */
  readonly offlineQueue: boolean;
  /** ioredis's own per-command timeout, ms; null leaves bounding calls to the caller. */
  readonly commandTimeoutMs: number | null;
  readonly connectTimeoutMs: number;
}

/** Reconnect forever, backing off to at most this delay between attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * Opens a client for a connection: a Redis for a standalone server or a Sentinel-managed
 * master, a Cluster for a Redis Cluster. Commands are never retried by ioredis (a resent
 * consume could be counted twice). After a failover, a write that reaches the demoted master
 * (READONLY) makes the client reconnect, and Sentinel clients also listen for the switch.
 * Checks the connection and throws at construction.
 */
export function openRedis(connection: RedisConnection, options: OpenRedisOptions): Redis | Cluster {
  checkConnection(connection);
  const common: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: options.offlineQueue,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs,
    ...(options.commandTimeoutMs === null ? {} : { commandTimeout: options.commandTimeoutMs }),
    // true: reconnect, without resending the command.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  let client: Redis | Cluster;
  switch (connection.mode) {
    case 'standalone':
      client = new Redis(connection.url, { ...common, retryStrategy: reconnectDelay });
      break;
    case 'cluster': {
      const { enableOfflineQueue, ...redisOptions } = common;
      client = new Cluster(
        connection.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          enableOfflineQueue,
          clusterRetryStrategy: reconnectDelay,
          redisOptions: {
            ...redisOptions,
            ...(connection.username === null ? {} : { username: connection.username }),
            ...(connection.password === null ? {} : { password: connection.password }),
            ...(connection.tls ? { tls: {} } : {}),
          },
        },
      );
      break;
    }
    case 'sentinel':
      client = new Redis({
        ...common,
        retryStrategy: reconnectDelay,
        sentinels: connection.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: connection.name,
        db: connection.db,
        failoverDetector: true,
        sentinelRetryStrategy: reconnectDelay,
        ...(connection.password === null ? {} : { password: connection.password }),
        ...(connection.sentinelPassword === null ? {} : { sentinelPassword: connection.sentinelPassword }),
        ...(connection.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      });
      break;
  }
  // ioredis reports connection errors as events; callers learn of them from failing calls, and
  // an unhandled 'error' event would only print noise.
  client.on('error', ignore);
  return client;
}

function checkConnection(connection: RedisConnection): void {
  switch (connection.mode) {
    case 'standalone':
      if (typeof connection.url !== 'string' || !/^rediss?:\/\//.test(connection.url)) throw new TypeError(`state.redis must be a redis:// or rediss:// URL, got ${JSON.stringify(connection.url)}`);
      return;
    case 'cluster':
      if (!Array.isArray(connection.nodes) || connection.nodes.length === 0) throw new TypeError('state.redis: a Cluster needs at least one node');
      for (const node of connection.nodes) checkHostPort(node, 'Cluster node');
      return;
    case 'sentinel':
      if (!Array.isArray(connection.sentinels) || connection.sentinels.length === 0) throw new TypeError('state.redis.sentinels must list at least one sentinel');
      for (const node of connection.sentinels) checkHostPort(node, 'sentinel');
      if (typeof connection.name !== 'string' || connection.name === '') throw new TypeError('state.redis.name must name the master group');
      return;
    default:
      throw new TypeError(`state.redis: unknown mode ${JSON.stringify((connection as { mode: unknown }).mode)}`);
  }
}

function checkHostPort(node: HostPort, what: string): void {
  if (typeof node.host !== 'string' || node.host === '' || !Number.isInteger(node.port) || node.port < 1 || node.port > 65535) throw new TypeError(`state.redis: bad ${what} ${JSON.stringify(node)}`);
}

function parseHostPort(text: string): HostPort {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
}

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function reconnectDelay(times: number): number {
  return Math.min(50 * times, MAX_RECONNECT_DELAY_MS);
}

function ignore(): void {}
