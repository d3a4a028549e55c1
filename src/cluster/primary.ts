import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import { openDatabase, type Database } from '../db/index.js';
import { wantsDatabase } from '../gateway/resources.js';
import { watchConfig } from '../gateway/watch.js';
import { systemClock } from '../lib/clock.js';
import { createStateStore, type StateStore } from '../stores/index.js';
import { Hub } from './hub.js';
import { isMessage, Outbox, unbatch, type ToPrimary, type ToWorker } from './protocol.js';
import { WORKER_SLOT_ENV } from './worker.js';

export interface PrimaryOptions {
  readonly logger: Logger;
  /** The config file to watch (`reload.watch`); null for the built-in config. */
  readonly file: string | null;
  /** Called once every worker listens, with the address they share. */
  readonly onListening?: (url: string) => void;
}

/** A worker that exits sooner than this after its start counts as a crash loop: its restarts back off. */
const STABLE_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * The cluster primary (`server.workers` > 1): it serves no requests. It forks the workers
 * (node:cluster; they share the listening socket, which the primary hands out round robin),
 * holds what they share in the embedded mode (cluster/hub.ts: the state store, the response
 * cache and its flights, the SQLite database), aggregates their metrics, restarts a worker
 * that dies, forwards SIGHUP and the config file's changes as reloads, and on SIGTERM or
 * SIGINT drains every worker before it exits.
 */
export async function runPrimary(config: RuntimeConfig, options: PrimaryOptions): Promise<void> {
  const { logger } = options;
  const workers = config.server.workers;
  // What the workers share through the primary: only what is not shared through Redis or PostgreSQL.
  const state: StateStore | null =
    config.state.redis === null ? createStateStore({ clock: systemClock, prefix: config.state.prefix, timeoutMs: config.state.timeoutMs, failure: config.state.failure }) : null;
  // The embedded database has one owner: the primary opens it (and migrates it) before any worker starts.
  const db: Database | null = wantsDatabase(config) && config.database.url === null ? await openDatabase({ ...config.database }) : null;
  const sharedCache = !(config.cache.backend === 'redis' && config.state.redis !== null);
  const hub = new Hub({
    clock: systemClock,
    state,
    cacheMaxBytes: sharedCache ? config.cache.maxBytes : null,
    leaseMs: config.cache.leaseMs,
    db,
    metricsTimeoutMs: 5_000,
  });

  cluster.setupPrimary({ serialization: 'advanced' });
  const bySlot = new Map<number, Worker>();
  const listening = new Set<number>();
  let stopping = false;
  let announced = false;
  let exitCode = 0;
  const backoff = new Map<number, number>();

  const broadcast = (trigger: string, except: number | null): void => {
    for (const [slot, w] of bySlot) if (slot !== except && w.isConnected()) w.send({ sluice: 'reload', trigger });
  };

  const fork = (slot: number): void => {
    const startedAt = Date.now();
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    bySlot.set(slot, worker);
    const outbox = new Outbox<ToWorker>((m) => worker.isConnected() && worker.send(m));
    hub.attach({ id: slot, send: (m) => outbox.push(m) });
    worker.on('message', (m: unknown) => {
      if (!isMessage<ToPrimary>(m)) return;
      for (const one of unbatch(m)) {
        // A reload asked of one worker (the admin API) runs on every other one too.
        if (one.sluice === 'note' && one.op === 'reload') broadcast(String(one.args[0] ?? 'a worker'), slot);
        else hub.receive(slot, one);
      }
    });
    worker.on('listening', (address) => {
      listening.add(slot);
      if (announced) logger.info({ worker: slot }, 'a replacement worker is serving');
      if (!announced && listening.size === workers) {
        announced = true;
        const host = address.addressType === 6 ? `[${address.address}]` : address.address;
        const url = `http://${host}:${address.port}`;
        logger.info({ url, workers, config: config.source }, 'sluice listening');
        options.onListening?.(url);
      }
    });
    worker.on('exit', (code, signal) => {
      hub.detach(slot);
      bySlot.delete(slot);
      const wasListening = listening.delete(slot);
      if (stopping) {
        if (bySlot.size === 0) void finish();
        return;
      }
      if (!wasListening && !announced) {
        // It never listened (a port in use, a bad setting): restarting would fail the same way.
        logger.error({ worker: slot, code, signal }, 'a worker failed to start; stopping');
        exitCode = 1;
        stop('worker start failure');
        return;
      }
      const quick = Date.now() - startedAt < STABLE_MS;
      // A worker that keeps dying soon after its start is restarted less and less often.
      const wait = quick ? Math.min(MAX_BACKOFF_MS, (backoff.get(slot) ?? 125) * 2) : 0;
      backoff.set(slot, quick ? wait : 125);
      logger.error({ worker: slot, code, signal, restartInMs: wait }, 'a worker exited; starting another');
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, wait).unref();
    });
  };

  let finished = false;
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    await db?.close().catch(() => {});
    await state?.close().catch(() => {});
    logger.info({ workers }, 'stopped');
    process.exit(exitCode);
  };
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.server.drainTimeoutMs }, 'draining');
    if (bySlot.size === 0) {
      void finish();
      return;
    }
    // Each worker drains on its own (requests and streams in flight finish); a worker still
    // there well after the drain timeout is killed.
    for (const w of bySlot.values()) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of bySlot.values()) w.process.kill('SIGKILL');
    }, config.server.drainTimeoutMs + 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (stopping) return;
    logger.info({ trigger: 'SIGHUP', workers }, 'reloading the config on every worker');
    broadcast('SIGHUP', null);
  });
  if (config.reload.watch && options.file !== null) watchConfig(options.file, config.reload.debounceMs, () => broadcast('file change', null), logger);
  for (let slot = 1; slot <= workers; slot++) fork(slot);
}
