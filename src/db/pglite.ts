import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Row } from './types.js';

/**
 * Embedded PostgreSQL (PGlite, WebAssembly) in a data folder, or in memory when `dataDir`
 * is null. One process owns a data folder: two gateways must not share it (use a
 * PostgreSQL server to scale out).
 */
export class PGliteDatabase implements Database {
  readonly kind = 'pglite';
  readonly #db: PGlite;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  static async open(dataDir: string | null): Promise<PGliteDatabase> {
    if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
    const db = dataDir === null ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
    return new PGliteDatabase(db);
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.#db.query<T>(sql, [...params]);
    return res.rows;
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (tx) =>
      fn({
        query: async <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, [...params])).rows,
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
