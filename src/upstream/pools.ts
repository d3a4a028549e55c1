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

/**
 * Keep-alive undici Pools per upstream origin, shared by every provider that points at it.
 * undici sets the connect timeout per pool, so an origin has one pool per connect timeout in
 * use (normally one). The first caller for an (origin, timeout) pair sets the pool's size.
 * Streamed calls use a separate pool per origin, sized by `streamConnections`.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  get(origin: string, options: PoolOptions): Pool {
    const streams = options.streams === true;
    const key = `${origin} ${options.connectTimeoutMs}${streams ? ' streams' : ''}`;
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

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}
