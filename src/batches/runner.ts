/**
 * The batch runner (issue 21): one per instance, started in Gateway.listen and stopped in
 * shutdown. Every `pollIntervalMs`, and at once when a batch is created here or a line of
 * its own finishes, it ends the batches that are ready (store.endable), then claims lines
 * from the database up to `concurrency` in flight and runs each through the pipeline
 * (execute.ts). While lines run, their leases are renewed; a runner that dies stops renewing,
 * and its lines are claimed again once their leases expire (docs/batches.md, Crashes).
 *
 * A line refused for now (rate limited, queue full) waits and is tried again, up to
 * MAX_ATTEMPTS; any other answer, success or error, is recorded once as its output line.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import { PollLoop } from './poll-loop.js';
import type { Clock } from '../lib/clock.js';
import type { LineExecutor, LineOutcome } from './execute.js';
import type { BatchJob, BatchStore, ClaimedLine } from './store.js';

export interface RunnerOptions {
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  readonly leaseTtlMs: number;
  /** How long an output file is kept (files.retention). */
  readonly retentionMs: number;
  /** This runner's lease owner id; a random one by default. */
  readonly owner?: string;
}

/** Claims of a line refused for now before it is recorded with its last refusal. */
export const MAX_ATTEMPTS = 8;
const MAX_WAIT_MS = 60_000;
/** How often ended batches older than the retention are deleted (by whichever instance polls). */
const PURGE_EVERY_MS = 3_600_000;

/** One output line, as OpenAI's batch output and error files hold them. */
export function outputLine(customId: string, response: { status: number; requestId: string; body: unknown } | null, error: { code: string; message: string } | null): string {
  return JSON.stringify({
    id: `batch_req_${randomBytes(12).toString('hex')}`,
    custom_id: customId,
    response: response === null ? null : { status_code: response.status, request_id: response.requestId, body: response.body },
    error,
  });
}

function expiredLine(customId: string): string {
  const e = new SluiceError('SLUICE_ERR_BATCH_EXPIRED');
  return outputLine(customId, null, { code: e.code, message: e.message });
}

export class BatchRunner {
  readonly #store: BatchStore;
  readonly #executor: LineExecutor;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: RunnerOptions;
  readonly owner: string;
  /** Jobs by batch id, read again after a lease time (a key revoked since stops its batch's lines). */
  readonly #jobs = new Map<string, { job: BatchJob; readAt: number }>();
  readonly #running = new Set<Promise<void>>();
  /** Ids of the lines running here, whose leases are renewed. */
  readonly #lineIds = new Set<string>();
  #inFlight = 0;
  readonly #loop: PollLoop;
  #renewedAt = Number.NEGATIVE_INFINITY;
  #purgedAt = Number.NEGATIVE_INFINITY;

  constructor(store: BatchStore, executor: LineExecutor, clock: Clock, logger: Logger, options: RunnerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new Error('BatchRunner: concurrency must be a positive integer');
    if (!(options.pollIntervalMs > 0)) throw new Error('BatchRunner: pollIntervalMs must be positive');
    if (!(options.leaseTtlMs >= 3 * options.pollIntervalMs)) throw new Error('BatchRunner: leaseTtlMs must be at least three poll intervals (leases are renewed once per poll)');
    this.#store = store;
    this.#executor = executor;
    this.#clock = clock;
    this.#logger = logger;
    this.#options = options;
    this.owner = options.owner ?? randomUUID();
    this.#loop = new PollLoop(clock, options.pollIntervalMs, () => this.#tick());
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#loop.start();
  }

  /**
   * Stops claiming; waits up to `waitMs` for the lines in flight (their results are recorded
   * if they finish). Lines still running after that keep their leases until they expire.
   */
  async stop(waitMs: number): Promise<void> {
    const round = this.#loop.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([Promise.all([round, ...this.#running]), timeout]);
    clearTimeout(timer);
  }

  /** Looks for work now (a batch was created, a line finished) rather than at the next poll. */
  kick(): void {
    this.#loop.kick();
  }

  async #tick(): Promise<void> {
    try {
      const now = this.#clock.now();
      if (this.#inFlight > 0 && now - this.#renewedAt >= this.#options.pollIntervalMs) {
        this.#renewedAt = now;
        await this.#store.renew(this.owner, [...this.#lineIds], now + this.#options.leaseTtlMs);
      }
      if (now - this.#purgedAt >= PURGE_EVERY_MS) {
        this.#purgedAt = now;
        await this.#store.purge(now - this.#options.retentionMs);
      }
      for (const b of await this.#store.endable(now)) {
        if (await this.#store.end(b.id, b.from, b.ending, now, this.#options.retentionMs, expiredLine)) this.#logger.info({ batch: b.id, status: b.ending }, 'batch ended');
        this.#jobs.delete(b.id);
      }
      const room = this.#options.concurrency - this.#inFlight;
      if (room > 0 && this.#loop.started) {
        const lines = await this.#store.claim(this.owner, room, now, now + this.#options.leaseTtlMs);
        for (const line of lines) this.#launch(line);
      }
    } catch (err) {
      this.#logger.warn({ err }, 'batch runner: the database did not answer; trying again at the next poll');
    }
  }

  #launch(line: ClaimedLine): void {
    this.#inFlight++;
    this.#lineIds.add(line.id);
    const run = this.#run(line)
      .catch((err: unknown) => this.#logger.warn({ err, batch: line.batchId, line: line.line }, 'batch line not recorded; it runs again when its lease expires'))
      .finally(() => {
        this.#inFlight--;
        this.#lineIds.delete(line.id);
        this.#running.delete(run);
        this.kick();
      });
    this.#running.add(run);
  }

  async #run(line: ClaimedLine): Promise<void> {
    const job = await this.#job(line.batchId);
    if (job === null) return;
    let outcome: LineOutcome;
    try {
      if (job.keyGone) {
        const e = new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: 'The key that created this batch has been revoked or has expired.' });
        outcome = { kind: 'answer', ok: false, status: e.status, requestId: '', body: e.toBody() };
      } else outcome = await this.#executor.run(line, job);
    } catch (err) {
      this.#logger.error({ err, batch: line.batchId, line: line.line }, 'batch line failed in the gateway');
      const e = new SluiceError('SLUICE_ERR_INTERNAL');
      outcome = { kind: 'answer', ok: false, status: 500, requestId: '', body: e.toBody() };
    }
    if (outcome.kind === 'later' && line.attempts < MAX_ATTEMPTS) {
      const wait = Math.min(MAX_WAIT_MS, outcome.retryAfterMs ?? this.#options.pollIntervalMs * 2 ** line.attempts);
      await this.#store.retryAt(line.id, this.owner, this.#clock.now() + wait);
      return;
    }
    const ok = outcome.kind === 'answer' && outcome.ok;
    await this.#store.record(line.id, ok, outputLine(line.customId, { status: outcome.status, requestId: outcome.requestId, body: outcome.body }, null));
  }

  async #job(batchId: string): Promise<BatchJob | null> {
    const now = this.#clock.now();
    const known = this.#jobs.get(batchId);
    if (known !== undefined && now - known.readAt < this.#options.leaseTtlMs) return known.job;
    const job = await this.#store.job(batchId, now);
    if (job !== null) this.#jobs.set(batchId, { job, readAt: now });
    return job;
  }
}
