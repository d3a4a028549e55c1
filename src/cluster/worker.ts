import cluster from 'node:cluster';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config/compile.js';
import { PrimaryChannel } from './channel.js';

/** This process's place in a cluster (`server.workers` > 1): its slot (1..N) and its channel to the primary. */
export interface WorkerRole {
  readonly slot: number;
  readonly channel: PrimaryChannel;
}

/** The environment variable that tells a forked worker its slot. */
export const WORKER_SLOT_ENV = 'SLUICE_WORKER_SLOT';

/** This process's role when it is a cluster worker; null in the primary or a single process. */
export function workerRole(): WorkerRole | null {
  if (!cluster.isWorker) return null;
  const slot = Number(process.env[WORKER_SLOT_ENV]);
  if (!Number.isInteger(slot) || slot < 1) throw new Error(`a cluster worker needs ${WORKER_SLOT_ENV} (1..N), got ${String(process.env[WORKER_SLOT_ENV])}`);
  return { slot, channel: new PrimaryChannel(process) };
}

/**
 * A worker's view of the config: its usage spool is a folder of its own (a spool has one
 * writer), `<usage.spoolDir>/worker-<slot>`. The same for every load, so a reload compares
 * equal.
 */
export function forWorker(config: RuntimeConfig, slot: number): RuntimeConfig {
  return { ...config, usage: { ...config.usage, spoolDir: join(config.usage.spoolDir, `worker-${slot}`) } };
}
