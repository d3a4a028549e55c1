import type { Logger } from 'pino';
import type { UsageRuntime } from '../config/compile.js';
import type { Database } from '../db/index.js';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import type { RequestSummary } from '../exchange/summary.js';
import type { PriceBook } from '../tokens/prices.js';
import { needsEstimate, toUsageRecord } from './record.js';
import { loadTokenizer, type TokenCounter } from '../tokens/tokenizer.js';
import { Spool, type SpoolStats } from './spool.js';
import { insertUsage, pruneUsage } from './store.js';

/** The active segment is sealed at this size even while the database is away. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Longest wait between two attempts to reach a database that failed. */
const MAX_BACKOFF_MS = 30_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface UsageWriterStats {
  /** Records appended to the spool. */
  spooled: number;
  /** Records the database stored (new rows). */
  stored: number;
  /** Records shipped again that the database already had (a replay after a crash or outage). */
  duplicates: number;
  /** Records that could not be spooled (disk error) or read back (cut short by a crash). */
  dropped: number;
  /** Failed attempts to ship a batch. */
  failures: number;
}

/**
 * Accounting's writer: one usage record per finished request, appended to a durable local
 * spool on the request path (cheap: written to the OS once per event-loop turn, synced off
 * the event loop), and shipped to the database in batches off it. A segment of the spool is
 * deleted only after all its batches committed; a crash in between ships them again and the
 * insert skips what is already stored (the request id is the key), so each request is stored
 * once.
 */
export class UsageWriter {
  readonly stats: UsageWriterStats = { spooled: 0, stored: 0, duplicates: 0, dropped: 0, failures: 0 };
  readonly #spool: Spool;
  readonly #db: Database;
  readonly #options: UsageRuntime;
  #prices: PriceBook;
  /** Time for decisions: backoff, retention. */
  readonly #clock: Clock;
  /** Timers for pacing rounds and bounding the stop: real time unless a test drives them. */
  readonly #pacer: Clock;
  readonly #logger: Logger;
  /** Batches of a sealed segment already committed, so a retry resumes after them. */
  readonly #progress = new Map<string, number>();
  #timer: TimerHandle | null = null;
  #tick: Promise<void> | null = null;
  #failing = false;
  #backoffMs = 0;
  #retryAt = 0;
  #prunedAt = 0;
  #stopped = false;
  /** The tokenizer, once loaded (see `record`). */
  #countTokens: TokenCounter | null = null;
  /** Set while records wait for the tokenizer to load; `drain` waits for them. */
  #tokenizer: Promise<void> | null = null;

  /**
   * `clock` decides (backoff, retention); `pacer` only paces rounds every flushInterval and
   * bounds `stop`. The pacer is real time by default, apart from the gateway's clock, so a
   * test that freezes time does not freeze shipping; a test that wants to drive rounds passes
   * a fake one.
   */
  constructor(options: UsageRuntime, db: Database, prices: PriceBook, clock: Clock, logger: Logger, pacer: Clock = systemClock) {
    this.#options = options;
    this.#spool = new Spool(options.spoolDir, options.fsync, { onError: (err, lost) => this.#spoolFailed(err, lost) });
    this.#db = db;
    this.#prices = prices;
    this.#clock = clock;
    this.#pacer = pacer;
    this.#logger = logger;
  }

  /** The price table records are costed with from now on (a reloaded config's `prices`). */
  reprice(prices: PriceBook): void {
    this.#prices = prices;
  }

  /** What the spool did: records written to the OS, records synced, writes and syncs. */
  get spool(): Readonly<SpoolStats> {
    return this.#spool.stats;
  }

  /**
   * The `request:end` listener. Never throws: a record that cannot be spooled is counted and
   * logged. A record whose tokens must be counted waits for the tokenizer the first time.
   */
  record(ctx: RequestSummary): void {
    const now = this.#clock.now();
    if (this.#countTokens === null && needsEstimate(ctx)) {
      this.#tokenizer ??= loadTokenizer().then(
        (count) => {
          this.#countTokens = count;
        },
        (err: unknown) => this.#logger.error({ err }, 'the tokenizer could not be loaded; records without reported usage keep 0 tokens'),
      );
      void this.#tokenizer.then(() => this.#append(ctx, now));
      return;
    }
    this.#append(ctx, now);
  }

  #append(ctx: RequestSummary, now: number): void {
    try {
      this.#spool.append(JSON.stringify(toUsageRecord(ctx, this.#prices, now, this.#countTokens)));
      this.stats.spooled++;
    } catch (err) {
      this.stats.dropped++;
      this.#logger.error({ err, reqId: ctx.id }, 'usage record could not be spooled');
    }
  }

  /** A spool write or sync failed at the end of a turn (a disk error): `lost` records were not written. */
  #spoolFailed(err: unknown, lost: number): void {
    this.stats.dropped += lost;
    this.#logger.error({ err, lost }, lost > 0 ? 'usage records could not be written to the spool' : 'usage spool could not be synced');
  }

  /**
   * Resolves once the records of every request published so far are safe from a process
   * crash (written to the OS) and, with `fsync: always`, from a machine crash (synced: a group
   * commit). The surface waits for it before an answer's last bytes (docs/usage.md, Durability).
   */
  handedOff(): Promise<void> {
    // A record waiting for the tokenizer is appended when it loads; wait for that first.
    if (this.#countTokens === null && this.#tokenizer !== null) return this.#tokenizer.then(() => this.#spooled());
    return this.#spooled();
  }

  #spooled(): Promise<void> {
    return this.#options.fsync === 'always' ? this.#spool.durable() : this.#spool.written();
  }

  /** For /ready: whether records reach the database, and how many segments wait in the spool. */
  status(): { healthy: boolean; pendingSegments: number; stored: number; dropped: number } {
    return { healthy: !this.#failing, pendingSegments: this.#spool.sealed.length, stored: this.stats.stored, dropped: this.stats.dropped };
  }

  /** Starts shipping: now (what a previous run left in the spool), then every flush interval. */
  start(): void {
    this.#schedule(0);
  }

  /** Writes, seals and ships everything spooled so far, even while backing off; resolves when done (or failed). */
  async drain(): Promise<void> {
    await this.#tokenizer;
    // A round in progress may have sealed before the latest records: let it end, then run one more.
    while (this.#tick !== null) await this.#tick;
    await this.#round(true);
  }

  #round(force: boolean): Promise<void> {
    this.#tick ??= this.#ship(force).finally(() => {
      this.#tick = null;
    });
    return this.#tick;
  }

  /**
   * Stops shipping: flushes the spool and makes one last attempt to ship, bounded by
   * `timeoutMs`. What is not stored stays in the spool for the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) this.#pacer.clearTimer(this.#timer);
    this.#timer = null;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#pacer.setTimer(resolve, timeoutMs);
    });
    await Promise.race([this.drain(), timedOut]);
    if (timer !== undefined) this.#pacer.clearTimer(timer);
    await this.#spool.close();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#pacer.setTimer(this.#onTimer, ms);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    void this.#round(false).then(() => this.#schedule(this.#options.flushIntervalMs));
  };

  /** One round: flush the spool; unless backing off from a failure (or forced), seal and ship. */
  async #ship(force: boolean): Promise<void> {
    try {
      await this.#spool.flush();
    } catch (err) {
      this.#logger.error({ err }, 'usage spool could not be written');
      return;
    }
    const now = this.#clock.now();
    if (!force && now < this.#retryAt) return;
    try {
      // While segments wait (database away), the active one grows up to SEGMENT_BYTES.
      if (force || this.#spool.sealed.length === 0 || this.#spool.activeBytes >= SEGMENT_BYTES) await this.#spool.seal();
      for (const path of [...this.#spool.sealed]) await this.#shipSegment(path);
      if (this.#options.retentionMs !== null && now - this.#prunedAt >= PRUNE_EVERY_MS) {
        this.#prunedAt = now;
        await pruneUsage(this.#db, new Date(now - this.#options.retentionMs));
      }
      if (this.#failing) this.#logger.warn({ stored: this.stats.stored }, 'usage records reach the database again');
      this.#failing = false;
      this.#backoffMs = 0;
    } catch (err) {
      this.stats.failures++;
      this.#backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(this.#options.flushIntervalMs, this.#backoffMs * 2));
      this.#retryAt = now + this.#backoffMs;
      if (!this.#failing) this.#logger.warn({ err, pendingSegments: this.#spool.sealed.length }, 'usage records cannot reach the database; they wait in the spool');
      this.#failing = true;
    }
  }

  async #shipSegment(path: string): Promise<void> {
    const { lines, torn } = this.#spool.read(path);
    const size = this.#options.batchSize;
    let dropped = torn ? 1 : 0;
    for (let i = (this.#progress.get(path) ?? 0) * size; i < lines.length; i += size) {
      const batch = lines.slice(i, i + size);
      let stored: number;
      let refused = 0;
      try {
        stored = await insertUsage(this.#db, batch);
      } catch (err) {
        // Lines are not parsed here first: the database parses them anyway, and parsing every
        // record again on the event loop cost ~4 µs each (issue #7). A batch the database
        // refuses as input (a line that is not JSON, or a field of the wrong type) is stored
        // line by line instead, and the lines it refuses are dropped.
        if (!isBadInput(err)) throw err;
        ({ stored, refused } = await this.#insertEach(batch));
      }
      dropped += refused;
      this.stats.stored += stored;
      this.stats.duplicates += batch.length - refused - stored;
      this.#progress.set(path, i / size + 1);
    }
    this.#spool.remove(path);
    this.#progress.delete(path);
    this.stats.dropped += dropped;
    if (dropped > (torn ? 1 : 0)) this.#logger.warn({ segment: path, dropped }, 'usage spool lines the database refused as input were dropped');
  }

  /** Stores lines one at a time: how many were new, and how many the database refused as input. */
  async #insertEach(lines: readonly string[]): Promise<{ stored: number; refused: number }> {
    let stored = 0;
    let refused = 0;
    for (const line of lines) {
      try {
        stored += await insertUsage(this.#db, [line]);
      } catch (err) {
        if (!isBadInput(err)) throw err;
        refused++;
      }
    }
    return { stored, refused };
  }
}

/**
 * An error about the data itself (SQLSTATE class 22, data exception: not JSON, not the
 * column's type; class 23, integrity: a required field missing), from SQLite or PostgreSQL, as
 * opposed to the database being unreachable or failing, which is retried.
 */
function isBadInput(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
