import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StartupError } from './startup-error.js';

/** Where Sluice before SQLite (0.1.x) kept its embedded PGlite database by default. */
export const LEGACY_PGLITE_DIR = '.sluice/db';

/** Whether `dir` is a PostgreSQL data folder (PGlite's included): it has a PG_VERSION file. */
function isPgliteFolder(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

const EXPORT_HINT =
  'to keep its usage records, start the last Sluice version with PGlite (0.1.x) with database.dataDir pointing at it and an admin token, export them through GET /admin/usage/requests, then delete the folder';

/**
 * Refuses a data folder that holds a PGlite database: SQLite's file would sit among
 * PostgreSQL's files, and the operator may believe the old records are still read.
 */
export function checkDataFolder(dataDir: string): void {
  if (!isPgliteFolder(dataDir)) return;
  throw new StartupError(
    `database.dataDir ${dataDir} holds an embedded PGlite database from an older Sluice, which this version no longer reads (it uses SQLite); set database.dataDir to another folder (the default is .sluice/data), and ${EXPORT_HINT}`,
  );
}

/**
 * The notice for a PGlite folder left at the old default place while the gateway now
 * starts fresh elsewhere, or null when there is none. `cwd` is where relative paths start.
 */
export function legacyPgliteNotice(dataDir: string | null, cwd = process.cwd()): string | null {
  const legacy = resolve(cwd, LEGACY_PGLITE_DIR);
  if (dataDir !== null && resolve(cwd, dataDir) === legacy) return null;
  if (!isPgliteFolder(legacy)) return null;
  return `${LEGACY_PGLITE_DIR} holds the embedded PGlite database of an older Sluice; it is no longer read (the embedded database is now SQLite, in database.dataDir); ${EXPORT_HINT}`;
}
