import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/compile.js';
import { ConfigError, formatProblem } from '../config/load.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { changedKeys } from '../lib/same.js';
import type { Metrics } from '../observability/metrics.js';
import { originPoolKeys, poolKey, type OriginConfig, type UpstreamPools } from '../upstream/pools.js';
import { buildVersion, type Version, type VersionBase } from './version.js';

/**
 * Config sections a reload cannot change (they shape what is opened once per process: the
 * listening socket and edge, the database and state store, the usage spool, tracing, the
 * logger, the admin API's tokens). A reload that changes one is refused, naming it, and the
 * running config keeps serving. Compiled names → the config file's names.
 */
const RESTART_ONLY = {
  server: 'server',
  state: 'state',
  database: 'database',
  usage: 'usage',
  tracing: 'tracing',
  logging: 'logging',
  adminTokens: 'admin.tokens',
  adminOidc: 'admin.oidc',
  responses: 'responses',
  reload: 'reload',
  files: 'files',
  batches: 'batches',
} as const satisfies Partial<Record<keyof RuntimeConfig, string>>;

/** What a reload did: the version now serving, and on failure why the old one still is. */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** The version serving after the attempt (unchanged on failure). */
  readonly version: number;
  readonly loadedAt: string;
  readonly source: string;
  /** Why the new config was refused; absent on success. */
  readonly error?: string;
  /** On success: providers whose adapter, pools, health and breakers were kept, built anew, and removed. */
  readonly providers?: { readonly kept: readonly string[]; readonly added: readonly string[]; readonly changed: readonly string[]; readonly removed: readonly string[] };
}

/** The last attempt, for /ready and the admin API. */
export interface ReloadStatus {
  readonly version: number;
  readonly loadedAt: string;
  readonly source: string;
  readonly lastAttempt: { readonly at: string; readonly ok: boolean; readonly error: string | null } | null;
}

/** What the reloader swaps versions in. */
export interface ReloadTarget {
  current(): Version;
  /** Makes `version` current (new requests start on it) and starts its checks when serving. */
  install(version: Version): void;
  readonly base: VersionBase;
  readonly pools: UpstreamPools;
}

export interface ReloaderOptions {
  /** Reads and compiles the config again (the file the process started with); null when it has none to read. */
  readonly load: (() => RuntimeConfig) | null;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
}

/**
 * Hot reload (issue 20). A new config is validated and compiled aside (by `load`), checked
 * for restart-only changes, and built into a new version beside the running one, carrying
 * what is unchanged (gateway/version.ts: adapters, health checks and breakers of unchanged
 * providers and targets; the cache when `cache.*` is unchanged; limit counters live in the
 * state store and are untouched). On success it is swapped in: new requests use it, requests
 * and streams in flight finish on the old one. The old version's health checks stop at once;
 * its pools that the new config does not use, and a cache it no longer uses, are closed
 * `server.drainTimeout` later, gracefully (calls in flight on them finish). On failure the old
 * config keeps serving; the error is logged, counted and kept for /ready. Reloads run one at
 * a time, in the order asked.
 */
export class Reloader {
  readonly #target: ReloadTarget;
  readonly #options: ReloaderOptions;
  readonly #count: (result: 'success' | 'failure') => void;
  #queue: Promise<unknown> = Promise.resolve();
  #last: ReloadStatus['lastAttempt'] = null;
  readonly #retiring = new Map<TimerHandle, () => Promise<void>>();
  readonly #retired = new Set<Promise<void>>();

  constructor(target: ReloadTarget, options: ReloaderOptions) {
    this.#target = target;
    this.#options = options;
    this.#count = options.metrics.watchReloads(() => target.current().id);
  }

  /** Reloads from `next`, or from the config's source when absent; resolves with the outcome, never rejects. */
  reload(next?: RuntimeConfig): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(next));
    this.#queue = run;
    return run;
  }

  status(): ReloadStatus {
    const v = this.#target.current();
    return { version: v.id, loadedAt: new Date(v.loadedAt).toISOString(), source: v.config.source, lastAttempt: this.#last };
  }

  /**
   * Retires every replaced version now (closing its unused pools and cache) instead of after
   * the grace period, and waits for it: at shutdown, and in tests.
   */
  async retireNow(): Promise<void> {
    for (const [handle, retire] of this.#retiring) {
      this.#options.clock.clearTimer(handle);
      this.#retiring.delete(handle);
      this.#track(retire());
    }
    await Promise.all(this.#retired);
  }

  async #reload(next: RuntimeConfig | undefined): Promise<ReloadOutcome> {
    const { logger, clock } = this.#options;
    const old = this.#target.current();
    let config: RuntimeConfig;
    let version: Version;
    try {
      if (next !== undefined) config = next;
      else if (this.#options.load === null) throw new Error('this gateway was given its config directly and has no source to reload from');
      else config = this.#options.load();
      const restart = restartOnly(old.config, config);
      if (restart.length > 0) throw new Error(`settings that need a restart changed: ${restart.join(', ')} (revert them, or restart to apply them)`);
      version = buildVersion(old.id + 1, config, this.#target.base, old);
    } catch (err) {
      const error = err instanceof ConfigError ? `invalid configuration in ${err.source}: ${err.problems.map(formatProblem).join('; ')}` : (err as Error).message;
      this.#last = { at: new Date(clock.now()).toISOString(), ok: false, error };
      this.#count('failure');
      logger.error({ version: old.id, error }, 'config reload refused; the running config keeps serving');
      return { ok: false, version: old.id, loadedAt: new Date(old.loadedAt).toISOString(), source: old.config.source, error };
    }
    this.#target.install(version);
    this.#retire(old, version);
    const providers = providerChanges(old, version);
    this.#last = { at: new Date(clock.now()).toISOString(), ok: true, error: null };
    this.#count('success');
    logger.info({ version: version.id, source: config.source, routes: config.routes.length, providers }, 'config reloaded');
    return { ok: true, version: version.id, loadedAt: new Date(version.loadedAt).toISOString(), source: config.source, providers };
  }

  /** Stops what the old version runs that the new one does not share; closes its unused pools and cache after the grace period. */
  #retire(old: Version, next: Version): void {
    const kept = new Set(next.health.values());
    for (const checker of old.health.values()) if (!kept.has(checker)) checker.stop();
    old.services.stop();
    const oldCache = old.cache !== null && old.cache !== next.cache ? old.cache : null;
    const carried = new Set(next.adapters.values());
    const oldAdapters = [...old.adapters.values()].filter((a) => !carried.has(a));
    const retire = async (): Promise<void> => {
      await Promise.all(oldAdapters.map((a) => a.close()));
      const closed = await this.#target.pools.retain(poolKeysOf(this.#target.current().config));
      if (oldCache !== null && oldCache !== this.#target.current().cache) await oldCache.store.close().catch(() => {});
      if (closed > 0) this.#options.logger.info({ pools: closed }, 'closed the upstream pools a reloaded config no longer uses');
    };
    const handle = this.#options.clock.setTimer(() => {
      this.#retiring.delete(handle);
      this.#track(retire());
    }, next.config.server.drainTimeoutMs);
    this.#retiring.set(handle, retire);
  }

  #track(p: Promise<void>): void {
    const done = p.catch((err: unknown) => this.#options.logger.warn({ err }, 'retiring a replaced config version failed')).finally(() => this.#retired.delete(done));
    this.#retired.add(done);
  }
}

/** The compiled config's sections a reload refuses to change (tested against every section: a new one must be classified). */
export const restartOnlySections: readonly string[] = Object.keys(RESTART_ONLY);

/** The config file names of the restart-only sections that differ. */
export function restartOnly(a: RuntimeConfig, b: RuntimeConfig): string[] {
  return changedKeys(a, b, Object.keys(RESTART_ONLY) as (keyof typeof RESTART_ONLY)[]).map((k) => RESTART_ONLY[k as keyof typeof RESTART_ONLY]);
}

/** The pools `config` uses: each HTTP provider's two, and each service's per instance. */
export function poolKeysOf(config: RuntimeConfig): Set<string> {
  const keys = new Set<string>();
  for (const p of Object.values(config.providers)) if (isOrigin(p)) for (const k of originPoolKeys(p)) keys.add(k);
  for (const s of config.services) for (const i of s.instances) keys.add(poolKey(i.origin, { connections: s.connections, connectTimeoutMs: s.timeouts.connectMs }));
  return keys;
}

function isOrigin(p: object): p is OriginConfig {
  return 'origin' in p && typeof p.origin === 'string';
}

function providerChanges(old: Version, next: Version): NonNullable<ReloadOutcome['providers']> {
  const kept: string[] = [];
  const added: string[] = [];
  const changed: string[] = [];
  for (const [name, adapter] of next.adapters) {
    const before = old.adapters.get(name);
    if (before === undefined) added.push(name);
    else if (before === adapter) kept.push(name);
    else changed.push(name);
  }
  const removed = [...old.adapters.keys()].filter((name) => !next.adapters.has(name));
  return { kept, added, changed, removed };
}
