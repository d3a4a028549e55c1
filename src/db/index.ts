import { checkDataFolder } from './data-folder.js';
import { migrate } from './migrations.js';
import { SqliteThreadDatabase } from './sqlite-worker.js';
import type { Database } from './types.js';

export interface DatabaseOptions {
  /** PostgreSQL URL; null selects embedded SQLite. */
  readonly url: string | null;
  /** SQLite data folder; null keeps the embedded database in memory. */
  readonly dataDir: string | null;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url === null && options.dataDir !== null) checkDataFolder(options.dataDir);
  // The PostgreSQL driver is loaded only when configured: the embedded mode starts without it.
  const db =
    options.url === null
      ? await SqliteThreadDatabase.open(options.dataDir)
      : new (await import('./postgres.js')).PostgresDatabase({ url: options.url, poolSize: options.poolSize, statementTimeoutMs: options.statementTimeoutMs });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

export { legacyPgliteNotice } from './data-folder.js';
export { StartupError } from './startup-error.js';
export type { Database, Dialect, Row } from './types.js';
