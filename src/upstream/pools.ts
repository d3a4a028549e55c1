import { Pool } from 'undici';

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /**
   * A pool for streamed calls only. A stream holds its connection for its whole answer, and
   * for as long as its client takes to read it (backpressure reaches the upstream socket), so
   * streams sharing the pool of short calls could take every connection and queue the rest
   * (issue 15: 130 clients that stopped reading held a 128-connection pool).
   */
  readonly streams?: boolean;
}

/** What picking a provider's pool needs: the fields every HTTP provider's runtime config has. */
export interface OriginConfig {
  readonly origin: string;
  readonly connections: number;
  readonly streamConnections: number;
  readonly timeouts: { readonly connectMs: number };
}

/** The key of the pool for `origin` with `options`: one pool per origin, connect timeout, size and use. */
export function poolKey(origin: string, options: PoolOptions): string {
  return `${origin} ${options.connectTimeoutMs} ${options.connections}${options.streams === true ? ' streams' : ''}`;
}

/** The keys of a provider's two pools (answers read whole, streams), as `forCall` picks them with its own connect timeout. */
export function originPoolKeys(config: OriginConfig): string[] {
  const connectTimeoutMs = config.timeouts.connectMs;
  return [poolKey(config.origin, { connections: config.connections, connectTimeoutMs }), poolKey(config.origin, { connections: config.streamConnections, connectTimeoutMs, streams: true })];
}

/**
 * Keep-alive undici Pools per upstream origin, shared by every provider and service that
 * points at it. undici sets the connect timeout and the size per pool, so an origin has one
 * pool per (connect timeout, size) in use (normally one). Streamed calls use a separate pool
 * per origin, sized by `streamConnections`. Pools outlive config versions: a reload keeps
 * those its new config still uses and closes the others (`retain`).
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  get(origin: string, options: PoolOptions): Pool {
    const key = poolKey(origin, options);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: options.connections,
        connect: { timeout: options.connectTimeoutMs },
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        pipelining: 1,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** A provider's pool for one call: its stream pool or its pool for answers read whole. */
  forCall(config: OriginConfig, connectTimeoutMs: number, stream: boolean): Pool {
    return this.get(config.origin, stream ? { connections: config.streamConnections, connectTimeoutMs, streams: true } : { connections: config.connections, connectTimeoutMs });
  }

  /**
   * Closes, gracefully, every pool whose key is not in `keys` (a reloaded config no longer
   * uses it): calls already made on it finish, streams included; a later call for the same
   * key gets a new pool. Resolves when they are closed.
   */
  async retain(keys: ReadonlySet<string>): Promise<number> {
    const gone: Pool[] = [];
    for (const [key, pool] of this.#pools) {
      if (keys.has(key)) continue;
      this.#pools.delete(key);
      gone.push(pool);
    }
    await Promise.all(gone.map((p) => p.close().catch(() => p.destroy())));
    return gone.length;
  }

  /** How many pools are open (for tests and the reload log). */
  get size(): number {
    return this.#pools.size;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}
