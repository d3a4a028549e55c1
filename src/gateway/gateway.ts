import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import type { Database } from '../db/index.js';
import type { ConnectionGate } from '../edge/connection-limits.js';
import type { HttpServices } from '../http/services.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { EventBus } from '../observability/events.js';
import type { Metrics } from '../observability/metrics.js';
import type { KeyRegistry } from '../policies/identify/keys.js';
import type { StreamSlots } from '../surfaces/stream-limits.js';
import { UsageWriter } from '../accounting/writer.js';
import { adoptSpools } from '../accounting/orphans.js';
import { buildRuntime, type Runtime } from './build.js';
import type { ReloadOutcome, ReloadStatus } from './reload.js';
import type { Version } from './version.js';
import { openResources } from './resources.js';
import type { PrimaryChannel } from '../cluster/channel.js';

export interface GatewayOptions {
  logger: Logger;
  clock?: Clock;
  /** Randomness for balancing and backoff jitter; tests pass a seeded one. */
  random?: () => number;
  /**
   * Reads and compiles the config again, for a reload from its source (SIGHUP, POST
   * /admin/config/reload, the file watch). Without it, only `reload(config)` reloads.
   */
  load?: () => RuntimeConfig;
  /** A cluster worker's channel to its primary (`server.workers`), which holds the embedded state, cache and database. */
  cluster?: PrimaryChannel;
  /** Usage spool folders an earlier worker layout left (accounting/orphans.ts): shipped after the start. */
  orphanSpools?: readonly string[];
}

/** How long a stopping gateway tries to ship spooled usage records; the rest waits in the spool. */
const USAGE_STOP_MS = 5_000;

/**
 * One running gateway: the runtime (gateway/build.ts) serving one config version at a time
 * (gateway/version.ts; `reload` swaps in the next, gateway/reload.ts), its listening server,
 * and its graceful stop.
 */
export class Gateway {
  #runtime: Runtime;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #orphans: readonly string[];
  /** Shipping the orphan spools, when there are any; shutdown waits for it. */
  #adopting: Promise<unknown> | null = null;

  /** Opens what the config needs (database, state store; gateway/resources.ts) and builds the gateway. */
  static async create(config: RuntimeConfig, options: GatewayOptions): Promise<Gateway> {
    const clock = options.clock ?? systemClock;
    const resources = await openResources(config, clock, options.logger, options.cluster ?? null);
    return new Gateway(buildRuntime(config, resources, { logger: options.logger, clock, random: options.random, load: options.load ?? null }), options.logger, clock, options.orphanSpools ?? []);
  }

  private constructor(runtime: Runtime, logger: Logger, clock: Clock, orphans: readonly string[]) {
    this.#runtime = runtime;
    this.#logger = logger;
    this.#clock = clock;
    this.#orphans = orphans;
  }

  /** The control plane (fastify); `app.server` is the edge's node:http server. */
  get app(): FastifyInstance {
    return this.#runtime.app;
  }

  /** The config serving new requests (the latest successful reload's). */
  get config(): RuntimeConfig {
    return this.#runtime.current().config;
  }

  /** The config version serving new requests: 1 at start, +1 per successful reload. */
  get version(): Version {
    return this.#runtime.current();
  }

  /**
   * Reloads the config: from `config` when given, else from its source (`options.load`).
   * Resolves with the outcome; on failure the running config keeps serving (issue 20).
   */
  reload(config?: RuntimeConfig): Promise<ReloadOutcome> {
    return this.#runtime.reloader.reload(config);
  }

  /** The current version and the last reload attempt, as /ready shows them. */
  get reloadStatus(): ReloadStatus {
    return this.#runtime.reloader.status();
  }

  /** Closes now what replaced config versions no longer use (pools, cache), instead of after `server.drainTimeout`. */
  retireReplaced(): Promise<void> {
    return this.#runtime.reloader.retireNow();
  }

  get bus(): EventBus {
    return this.#runtime.bus;
  }

  get metrics(): Metrics {
    return this.#runtime.metrics;
  }

  get keys(): KeyRegistry {
    return this.#runtime.current().keys;
  }

  /** Usage accounting, when `usage.enabled`. */
  get usage(): UsageWriter | null {
    return this.#runtime.usage;
  }

  /** Client connection limits (issue 15). */
  get connections(): ConnectionGate {
    return this.#runtime.connections;
  }

  /** Open streams, in all and per client address (issue 15). */
  get streams(): StreamSlots {
    return this.#runtime.streams;
  }

  /** The HTTP services and their instances' state. */
  get services(): HttpServices {
    return this.#runtime.current().services;
  }

  /** The database, when the config uses one (keys, later usage records). */
  get database(): Database | null {
    return this.#runtime.resources.db;
  }

  get draining(): boolean {
    return this.#runtime.edge.draining;
  }

  /** Starts listening (and active health checks); resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const rt = this.#runtime;
    const server = rt.current().config.server;
    await rt.app.listen({ host: server.host, port: server.port, backlog: server.backlog });
    rt.start();
    rt.dbCheck?.start();
    rt.usage?.start();
    const db = rt.resources.db;
    if (rt.usage !== null && db !== null && this.#orphans.length > 0) {
      const config = rt.current().config;
      this.#adopting = adoptSpools(this.#orphans, (dir) => new UsageWriter({ ...config.usage, spoolDir: dir }, db, config.prices, this.#clock, this.#logger), this.#logger, USAGE_STOP_MS);
    }
    rt.batches?.runner.start();
    const addr = rt.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('server is not bound to a TCP port');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { host: addr.address, port: addr.port, url: `http://${host}:${addr.port}` };
  }

  /**
   * Graceful stop: refuse new requests (503, and /ready fails so load balancers move away),
   * let requests and streams in flight finish for up to `drainTimeoutMs`, then close every
   * connection that is left. Resolves true when everything drained in time.
   */
  async shutdown(drainTimeoutMs: number = this.#runtime.current().config.server.drainTimeoutMs): Promise<boolean> {
    const rt = this.#runtime;
    rt.edge.drain();
    // Batch lines in flight finish (and are recorded) within the drain; the rest keep their leases until they expire.
    const batchesStopped = rt.batches?.runner.stop(drainTimeoutMs);
    rt.stop();
    rt.dbCheck?.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), drainTimeoutMs);
    });
    const closed = rt.app.close().then(() => true);
    // server.close() only closes the connections idle at that moment; a keep-alive
    // connection whose last request finishes while draining would hold the close open
    // until the timeout, so idle connections are swept as they appear.
    const sweep = setInterval(() => rt.app.server.closeIdleConnections(), 50);
    const drained = await Promise.race([closed, timedOut]);
    clearInterval(sweep);
    clearTimeout(timer);
    if (!drained) {
      this.#logger.warn({ drainTimeoutMs }, 'drain timeout reached; closing remaining connections');
      rt.app.server.closeAllConnections();
      await closed;
    }
    await batchesStopped;
    await rt.tracing?.shutdown().catch((err: unknown) => this.#logger.warn({ err }, 'exporting the last traces failed'));
    await rt.reloader.retireNow();
    const version = rt.current();
    await Promise.all([...version.adapters.values()].map((a) => a.close()));
    await rt.pools.close();
    // Every request has ended, so every record is spooled; ship what the database will take in time.
    await rt.usage?.stop(USAGE_STOP_MS);
    await this.#adopting;
    // Stored responses are written after their answers; let the last ones land (issue 18).
    await rt.responses?.settled();
    await rt.resources.reader?.close();
    await rt.resources.store.close().catch(() => {});
    await version.cache?.store.close().catch(() => {});
    await rt.resources.db?.close().catch(() => {});
    return drained;
  }
}
