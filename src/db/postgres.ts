import pg from 'pg';
import type { Database, Row } from './types.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
  /** Each statement is bounded; a database that hangs must not hang requests. */
  readonly statementTimeoutMs: number;
}

/** A PostgreSQL server through a `pg` connection pool. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

  constructor(options: PostgresOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1_000,
      connectionTimeoutMillis: 5_000,
    });
    // An idle client that loses its server emits here; without a listener it would crash the process.
    this.#pool.on('error', () => {});
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.#pool.query<T>(sql, [...params]);
    return res.rows;
  }

  async exec(sql: string): Promise<void> {
    // Without parameters pg uses the simple protocol, which runs several statements.
    await this.#pool.query(sql);
  }

  async transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn({
        query: async <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => (await client.query<R>(sql, [...params])).rows,
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
