/**
 * Builds the Files and Batch APIs from the runtime's parts (issue 21): the stores on the
 * database, the in-process executor over the model endpoints, the runner and the HTTP surface.
 * Called by gateway/build.ts; null without a database (the paths are then the catalog's 404).
 */
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import type { Database } from '../db/types.js';
import type { Clock } from '../lib/clock.js';
import type { Guard } from '../policies/guard.js';
import type { ModelEndpoint } from '../surfaces/endpoints.js';
import { PipelineExecutor } from './execute.js';
import { FileStore } from './files.js';
import { BatchRunner } from './runner.js';
import { BatchStore } from './store.js';
import { batchSurface, type FilesRequest } from './surface.js';

export interface Batches {
  /** Every request under /v1/files and /v1/batches. */
  readonly serve: (x: FilesRequest) => Promise<void>;
  /** Started in Gateway.listen, stopped in Gateway.shutdown. */
  readonly runner: BatchRunner;
}

/**
 * Built once per process (the runner owns its leases); the guard and the model endpoints are
 * read from the config version serving at each use, so a reload applies to batch lines too.
 * `files.*` and `batches.*` are restart-only.
 */
export function buildBatches(config: RuntimeConfig, db: Database | null, guard: () => Guard, endpoints: () => ReadonlyMap<string, ModelEndpoint>, clock: Clock, logger: Logger): Batches | null {
  if (db === null) return null;
  const files = new FileStore(db, clock, config.files.retentionMs);
  const store = new BatchStore(db);
  const runner = new BatchRunner(store, new PipelineExecutor(endpoints), clock, logger, { ...config.batches, retentionMs: config.files.retentionMs });
  const serve = batchSurface({ guard, files, batches: store, clock, maxBytes: config.files.maxBytes, logger, created: () => runner.kick() });
  return { serve, runner };
}
