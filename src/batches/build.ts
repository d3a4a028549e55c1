/**
 * Builds the Files and Batch APIs from the runtime's parts (issue 21): the stores on the
 * database, the in-process executor over the model endpoints, the runners and the HTTP surface.
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
import { planPassthrough, type PassthroughSources } from './provider-plan.js';
import { ProviderBatchRunner, type ProviderBatchEvent } from './provider-runner.js';
import { BatchRunner } from './runner.js';
import { BatchStore } from './store.js';
import { batchSurface, type FilesRequest } from './surface.js';

export interface Batches {
  /** Every request under /v1/files and /v1/batches. */
  readonly serve: (x: FilesRequest) => Promise<void>;
  /** Started in Gateway.listen, stopped in Gateway.shutdown. */
  readonly runner: BatchRunners;
}

/** The batch runner and, with `batches.passthrough`, the provider batch runner: started and stopped together. */
export class BatchRunners {
  readonly lines: BatchRunner;
  readonly providers: ProviderBatchRunner | null;

  constructor(lines: BatchRunner, providers: ProviderBatchRunner | null) {
    this.lines = lines;
    this.providers = providers;
  }

  start(): void {
    this.lines.start();
    this.providers?.start();
  }

  async stop(waitMs: number): Promise<void> {
    await Promise.all([this.lines.stop(waitMs), this.providers?.stop(waitMs)]);
  }

  /** A batch was created or cancelled here: both look for work now. */
  kick(): void {
    this.lines.kick();
    this.providers?.kick();
  }
}

/** What batch pass-through reads of the running gateway (issue 21): the config version serving now, and where it tells what happened. */
export interface PassthroughDeps extends Omit<PassthroughSources, 'providers'> {
  /** Whether usage records are kept (`usage.enabled`). */
  readonly usage: boolean;
  readonly events?: (provider: string, event: ProviderBatchEvent) => void;
}

/**
 * Built once per process (the runners own their leases); the guard and the model endpoints are
 * read from the config version serving at each use, so a reload applies to batch lines too.
 * `files.*` and `batches.*` are restart-only.
 */
export function buildBatches(
  config: RuntimeConfig,
  db: Database | null,
  guard: () => Guard,
  endpoints: () => ReadonlyMap<string, ModelEndpoint>,
  clock: Clock,
  logger: Logger,
  passthrough: PassthroughDeps | null = null,
): Batches | null {
  if (db === null) return null;
  const files = new FileStore(db, clock, config.files.retentionMs);
  const store = new BatchStore(db);
  const b = config.batches;
  const lines = new BatchRunner(store, new PipelineExecutor(endpoints), clock, logger, { concurrency: b.concurrency, pollIntervalMs: b.pollIntervalMs, leaseTtlMs: b.leaseTtlMs, retentionMs: config.files.retentionMs });
  const on = passthrough !== null && b.passthrough !== false;
  const providers = on
    ? new ProviderBatchRunner(
        db,
        passthrough.adapters,
        clock,
        logger,
        { pollIntervalMs: b.pollIntervalMs, providerPollMs: b.passthroughPollMs, leaseTtlMs: b.leaseTtlMs, priceMultiplier: b.priceMultiplier, usage: passthrough.usage },
        () => lines.kick(),
        passthrough.events,
      )
    : null;
  const runner = new BatchRunners(lines, providers);
  const sources: PassthroughSources | null = on ? { ...passthrough, providers: b.passthrough } : null;
  const serve = batchSurface({
    guard,
    files,
    batches: store,
    clock,
    maxBytes: config.files.maxBytes,
    logger,
    created: () => runner.kick(),
    plan: sources === null ? null : (endpoint, input, principal) => planPassthrough(sources, endpoint, input, principal),
  });
  return { serve, runner };
}
