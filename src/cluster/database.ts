import type { Database, Row } from '../db/types.js';
import type { PrimaryChannel } from './channel.js';

/**
 * The embedded database (SQLite) of a cluster worker: SQLite's file has one owner, the
 * primary (it holds the file's lock, runs the migrations, and its database thread answers in
 * order), and the workers send it their statements. A worker's transaction holds the
 * primary's connection from BEGIN to COMMIT, so statements from every worker wait for it, as
 * they wait for a transaction in one process; a worker that dies inside one is rolled back.
 * With PostgreSQL (`database.url`), each worker connects on its own instead.
 */
export class WorkerDatabase implements Database {
  readonly kind = 'sqlite' as const;
  readonly #channel: PrimaryChannel;

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.#channel.call<T[]>('db.query', null, sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.#channel.call<void>('db.exec', null, sql);
  }

  insertJson(sql: string, fields: readonly string[], lines: readonly string[]): Promise<number> {
    return this.#channel.call<number>('db.insertJson', sql, fields, lines);
  }

  async transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T> {
    const tx = await this.#channel.call<number>('db.begin');
    let out: T;
    try {
      out = await fn({
        query: <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => this.#channel.call<R[]>('db.query', tx, sql, params),
        exec: (sql: string) => this.#channel.call<void>('db.exec', tx, sql),
      });
    } catch (err) {
      await this.#channel.call('db.end', tx, false).catch(() => {});
      throw err;
    }
    await this.#channel.call('db.end', tx, true);
    return out;
  }

  /** The database is the primary's: it closes with the primary. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
