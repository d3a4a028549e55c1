import { Pool } from 'undici';

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/**
 * Keep-alive undici Pools per upstream origin, shared by every provider that points at it.
 * undici sets the connect timeout per pool, so an origin has one pool per connect timeout in
 * use (normally one). The first caller for an (origin, timeout) pair sets the pool's size.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  get(origin: string, options: PoolOptions): Pool {
    const key = `${origin} ${options.connectTimeoutMs}`;
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

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}
