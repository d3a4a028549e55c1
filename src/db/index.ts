import { migrate } from './migrations.js';
import { PGliteThreadDatabase } from './pglite-worker.js';
import { PostgresDatabase } from './postgres.js';
import type { Database } from './types.js';

export interface DatabaseOptions {
  /** PostgreSQL URL; null selects embedded PGlite. */
  readonly url: string | null;
  /** PGlite data folder; null keeps the embedded database in memory. */
  readonly dataDir: string | null;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.url === null ? await PGliteThreadDatabase.open(options.dataDir) : new PostgresDatabase({ url: options.url, poolSize: options.poolSize, statementTimeoutMs: options.statementTimeoutMs });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

export type { Database, Row } from './types.js';
