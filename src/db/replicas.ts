import type { Clock } from '../lib/clock.js';
import type { PostgresDatabase } from './postgres.js';
import type { Database, Row } from './types.js';

/** A replica that failed is left alone for this long before it is tried again. */
const REPLICA_COOLDOWN_MS = 10_000;

/** Where reads can go: the `query` half of a Database. */
export type Reader = Pick<Database, 'query' | 'kind'>;

/**
 * Reads for analytics (the usage API) go to the read replicas in turn, so reporting does not
 * load the primary that takes the writes; a replica that fails is skipped for a while and
 * the read falls back to the next one, then to the primary. Replicas lag the primary by
 * their replication delay, which reports can bear.
 */
export class ReadRouter implements Reader {
  readonly #primary: Database;
  readonly #replicas: { readonly db: PostgresDatabase; downUntil: number }[];
  readonly #clock: Clock;
  #next = 0;

  private constructor(primary: Database, replicas: readonly PostgresDatabase[], clock: Clock) {
    this.#primary = primary;
    this.#replicas = replicas.map((db) => ({ db, downUntil: 0 }));
    this.#clock = clock;
  }

  /** The PostgreSQL driver is loaded only when there are replicas: the embedded mode starts without it. */
  static async open(primary: Database, replicaUrls: readonly string[], options: { poolSize: number; statementTimeoutMs: number }, clock: Clock): Promise<ReadRouter> {
    if (replicaUrls.length === 0) return new ReadRouter(primary, [], clock);
    const { PostgresDatabase } = await import('./postgres.js');
    return new ReadRouter(primary, replicaUrls.map((url) => new PostgresDatabase({ url, poolSize: options.poolSize, statementTimeoutMs: options.statementTimeoutMs })), clock);
  }

  /** The primary's: replicas exist only with PostgreSQL. */
  get kind(): Database['kind'] {
    return this.#primary.kind;
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const n = this.#replicas.length;
    const start = this.#next;
    this.#next = n === 0 ? 0 : (this.#next + 1) % n;
    for (let i = 0; i < n; i++) {
      const replica = this.#replicas[(start + i) % n]!;
      if (this.#clock.monotonic() < replica.downUntil) continue;
      try {
        return await replica.db.query<T>(sql, params);
      } catch {
        replica.downUntil = this.#clock.monotonic() + REPLICA_COOLDOWN_MS;
      }
    }
    return this.#primary.query<T>(sql, params);
  }

  async close(): Promise<void> {
    await Promise.all(this.#replicas.map((r) => r.db.close().catch(() => {})));
  }
}
