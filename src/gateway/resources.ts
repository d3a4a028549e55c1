import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import { legacyPgliteNotice, openDatabase, type Database } from '../db/index.js';
import { ReadRouter } from '../db/replicas.js';
import type { Clock } from '../lib/clock.js';
import type { Tracing } from '../observability/tracing.js';
import { GuardedStore, createStateStore, type StateStore } from '../stores/index.js';
import type { PrimaryChannel } from '../cluster/channel.js';
import { WorkerDatabase } from '../cluster/database.js';
import { WorkerStateStore } from '../cluster/state.js';

/** What a gateway needs that is opened asynchronously: the database and the state store. */
export interface Resources {
  readonly db: Database | null;
  readonly store: StateStore;
  /** The tracing module, imported only when `tracing.endpoint` is set. */
  readonly Tracing: typeof Tracing | null;
  /** Where analytics reads go: the read replicas, falling back to `db`. */
  readonly reader: ReadRouter | null;
  /** A cluster worker's channel to the primary, which holds the embedded state, cache and database (`server.workers`); null in one process. */
  readonly cluster: PrimaryChannel | null;
}

/**
 * Opens what the config needs: a database when usage is recorded or keys can be stored (with
 * admin tokens or a `database.url`), its read replicas, and the shared state store.
 */
/** Whether the config needs a database: usage records, or keys that can be stored (admin tokens, OIDC, a `database.url`). */
export function wantsDatabase(config: RuntimeConfig): boolean {
  return config.usage.enabled || config.adminTokens.length > 0 || config.adminOidc !== null || config.database.url !== null;
}

export async function openResources(config: RuntimeConfig, clock: Clock, logger: Logger, cluster: PrimaryChannel | null = null): Promise<Resources> {
  const wantsDb = wantsDatabase(config);
  // A cluster worker sends its statements to the primary, which owns the embedded database; PostgreSQL it reaches itself.
  const db = !wantsDb ? null : cluster !== null && config.database.url === null ? new WorkerDatabase(cluster) : await openDatabase({ ...config.database });
  const legacy = db?.kind === 'sqlite' && cluster === null ? legacyPgliteNotice(config.database.dataDir) : null;
  if (legacy !== null) logger.warn(legacy);
  const reader = db === null ? null : await ReadRouter.open(db, config.database.replicas, config.database, clock);
  const store =
    cluster !== null && config.state.redis === null
      ? new WorkerStateStore(cluster)
      : createStateStore({
    clock,
    prefix: config.state.prefix,
    timeoutMs: config.state.timeoutMs,
    failure: config.state.failure,
    checkMs: config.state.checkMs,
    retryMs: config.state.checkMs,
    startupWaitMs: config.state.startupWaitMs,
    ...(config.state.redis === null ? {} : { redis: config.state.redis }),
  });
  const tracing = config.tracing === null ? null : (await import('../observability/tracing.js')).Tracing;
  return { db, store, reader, Tracing: tracing, cluster };
}

/** The store's health, when it has one (Redis behind a GuardedStore); memory has none. */
export function storeStatus(store: StateStore): GuardedStore | null {
  return store instanceof GuardedStore ? store : null;
}
