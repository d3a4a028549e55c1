/**
 * Carries batches passed through to a provider's batch API (issue 21; docs/batches.md,
 * "Provider batch pass-through"): one per instance, beside the batch runner. Every
 * `pollIntervalMs` it leases the provider batches due for a step (provider-store.ts) and takes
 * one step on each:
 *
 * - not submitted yet: translate the lines (a line the provider cannot take is answered at
 *   once in the error file), store `submitting`, create the provider batch (after looking for
 *   one a previous holder created before it died), store its ids;
 * - submitted: send the cancel when the Sluice batch is cancelling, poll, and when the
 *   provider batch ended, read its results, store their usage records (batch price) and
 *   record each line's output line; the batch runner then ends the batch as for any batch.
 *
 * A provider batch not ended is polled again after `passthroughPollMs`. A provider that
 * refuses the batch (a 4xx to the creation, or a batch it failed as a whole) sends its lines
 * to the batch runner, which runs them line by line; a provider that cannot be reached is
 * tried again at the next poll.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { insertUsage } from '../accounting/store.js';
import type { Database } from '../db/types.js';
import { SluiceError } from '../errors.js';
import { PollLoop } from './poll-loop.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { batchApiOf, type ProviderBatchApi, type ProviderBatchRequest } from '../providers/batch.js';
import type { JsonObject, ProviderAdapter } from '../providers/types.js';
import type { LineError } from './input.js';
import { recordResult, sentIds } from './provider-results.js';
import { ProviderBatchStore, type ClaimedProviderBatch, type LineResult, type ProviderLine } from './provider-store.js';
import { outputLine } from './runner.js';

export interface ProviderRunnerOptions {
  /** How often the database is asked for provider batches due (`batches.pollInterval`). */
  readonly pollIntervalMs: number;
  /** How often a provider batch is polled at its provider (`batches.passthroughPoll`). */
  readonly providerPollMs: number;
  readonly leaseTtlMs: number;
  /** `batches.priceMultiplier`. */
  readonly priceMultiplier: number;
  /** Whether usage records are kept (`usage.enabled`). */
  readonly usage: boolean;
  readonly owner?: string;
}

/** Provider batches one instance takes a step on per poll. */
const PER_POLL = 8;

/** What the runner tells about provider batches (metrics listen). */
export type ProviderBatchEvent = 'submitted' | 'refused' | 'ended' | 'cancel_sent' | 'error';

export class ProviderBatchRunner {
  readonly #store: ProviderBatchStore;
  readonly #db: Database;
  readonly #adapters: () => ReadonlyMap<string, ProviderAdapter>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: ProviderRunnerOptions;
  readonly #ended: () => void;
  readonly #events: (provider: string, event: ProviderBatchEvent) => void;
  readonly owner: string;
  readonly #loop: PollLoop;

  /** `ended` is called when lines were recorded (the batch runner may end the batch now); `events` counts what happened. */
  constructor(
    db: Database,
    adapters: () => ReadonlyMap<string, ProviderAdapter>,
    clock: Clock,
    logger: Logger,
    options: ProviderRunnerOptions,
    ended: () => void,
    events: (provider: string, event: ProviderBatchEvent) => void = () => {},
  ) {
    if (!(options.pollIntervalMs > 0) || !(options.providerPollMs > 0)) throw new Error('ProviderBatchRunner: poll intervals must be positive');
    if (!(options.priceMultiplier >= 0)) throw new Error('ProviderBatchRunner: priceMultiplier must not be negative');
    this.#db = db;
    this.#store = new ProviderBatchStore(db);
    this.#adapters = adapters;
    this.#clock = clock;
    this.#logger = logger;
    this.#options = options;
    this.#ended = ended;
    this.#events = events;
    this.owner = options.owner ?? randomUUID();
    this.#loop = new PollLoop(clock, options.pollIntervalMs, () => this.#tick());
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops polling; waits up to `waitMs` for the step under way. A row it held is taken over when its lease runs out. */
  async stop(waitMs: number): Promise<void> {
    const round = this.#loop.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([round, timeout]);
    clearTimeout(timer);
  }

  /** Looks for work now (a batch was created or cancelled here) rather than at the next poll. */
  kick(): void {
    this.#loop.kick();
  }

  async #tick(): Promise<void> {
    try {
      const now = this.#clock.now();
      const due = await this.#store.claim(this.owner, PER_POLL, now, now + this.#options.leaseTtlMs);
      for (const pb of due) {
        if (!this.#loop.started) break;
        await this.#step(pb);
      }
    } catch (err) {
      this.#logger.warn({ err }, 'provider batch runner: the database did not answer; trying again at the next poll');
    }
  }

  async #step(pb: ClaimedProviderBatch): Promise<void> {
    const adapter = this.#adapters().get(pb.provider);
    const api = adapter === undefined ? null : batchApiOf(adapter);
    // The lease is renewed every third of its time while the step waits on the provider: a
    // creation that outlived it could otherwise be repeated by another instance.
    let renewal: TimerHandle | null = null;
    const renew = (): void => {
      renewal = this.#clock.setTimer(() => {
        this.#store.renew(pb.batchId, this.owner, this.#clock.now() + this.#options.leaseTtlMs).catch((err: unknown) => this.#logger.warn({ err, batch: pb.batchId }, 'provider batch lease not renewed'));
        renew();
      }, Math.max(1, Math.floor(this.#options.leaseTtlMs / 3)));
    };
    renew();
    try {
      await this.#stepWith(pb, api);
    } finally {
      if (renewal !== null) this.#clock.clearTimer(renewal);
    }
  }

  async #stepWith(pb: ClaimedProviderBatch, api: ProviderBatchApi | null): Promise<void> {
    try {
      if (api === null) {
        // A reload removed the provider: a batch it holds waits for it to come back; one not sent yet runs line by line.
        if (pb.ref === null) await this.#refuse(pb, `The provider "${pb.provider}" is no longer configured.`);
        else await this.#later(pb, null);
        return;
      }
      if (pb.ref === null) await this.#submit(pb, api);
      else await this.#poll(pb, api);
    } catch (err) {
      this.#events(pb.provider, 'error');
      this.#logger.warn({ err, batch: pb.batchId, provider: pb.provider }, 'provider batch step failed; trying again at the next poll');
      await this.#later(pb, null).catch(() => {});
    }
  }

  async #submit(pb: ClaimedProviderBatch, api: ProviderBatchApi): Promise<void> {
    const lines = await this.#store.lines(pb.batchId);
    if (pb.status === 'cancelling' || pb.status === 'cancelled' || lines.length === 0) {
      await this.#store.finish(pb.batchId, this.owner, [], null, 'not submitted');
      this.#ended();
      return;
    }
    // Each line in the provider's format; one it cannot take is answered now, as the pipeline would answer it.
    const ids = sentIds(lines, api.customIdPattern);
    const requests: ProviderBatchRequest[] = [];
    const answered: LineResult[] = [];
    for (const [sent, line] of ids) {
      try {
        const body = JSON.parse(line.body) as JsonObject;
        requests.push({ customId: sent, body: api.prepare(pb.endpoint, { ...body, model: pb.targetModel }) });
      } catch (err) {
        const e = err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: the body is not valid JSON.' });
        answered.push({ lineId: line.id, ok: false, result: outputLine(line.customId, { status: e.status, requestId: '', body: e.toBody() }, null) });
      }
    }
    await this.#store.record(answered);
    if (requests.length === 0) {
      await this.#store.finish(pb.batchId, this.owner, [], null, 'not submitted');
      this.#ended();
      return;
    }
    const now = this.#clock.now();
    if (!(await this.#store.submitting(pb.batchId, this.owner, now))) return;
    let ref;
    try {
      // A row found `submitting` was being created by an instance that died: the provider may hold it already.
      ref = await api.submit(pb.endpoint, requests, pb.batchId, pb.state === 'submitting' ? (pb.submittedAt ?? now) : null);
    } catch (err) {
      if (err instanceof SluiceError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        await this.#refuse(pb, err.message);
        return;
      }
      throw err;
    }
    await this.#store.submitted(pb.batchId, this.owner, ref, this.#clock.now() + this.#options.providerPollMs);
    this.#events(pb.provider, 'submitted');
    this.#logger.info({ batch: pb.batchId, provider: pb.provider, providerBatch: ref.id }, 'batch passed through to its provider');
  }

  async #poll(pb: ClaimedProviderBatch, api: ProviderBatchApi): Promise<void> {
    const ref = pb.ref!;
    if ((pb.status === 'cancelling' || pb.status === 'cancelled') && !pb.cancelSent) {
      await api.cancel(ref);
      await this.#store.cancelSent(pb.batchId, this.owner);
      this.#events(pb.provider, 'cancel_sent');
    }
    const state = await api.poll(ref);
    if (!state.ended) {
      await this.#later(pb, state.status);
      return;
    }
    if (state.refused !== null) {
      if (pb.status === 'cancelling' || pb.status === 'cancelled') await this.#store.finish(pb.batchId, this.owner, [], null, state.status);
      else await this.#refuse(pb, state.refused);
      this.#ended();
      return;
    }
    const results = await api.results(ref, pb.endpoint);
    const lines = await this.#store.lines(pb.batchId);
    const ids = sentIds(lines, api.customIdPattern);
    const now = this.#clock.now();
    const submittedAt = pb.submittedAt ?? now;
    const recorded: LineResult[] = [];
    const usage: string[] = [];
    for (const r of results) {
      const line = ids.get(r.customId);
      // A cancelled batch keeps only what ran (as a cancelled batch run line by line does).
      if (line === undefined || r.cancelled) continue;
      const rec = recordResult(pb, line, r, pb.provider, this.#options.priceMultiplier, now, submittedAt);
      recorded.push(rec.line);
      if (rec.usage !== null) usage.push(rec.usage);
    }
    // Usage first: its ids are the same each time, so a runner that dies before recording the lines stores them again as no-ops.
    if (this.#options.usage && usage.length > 0) await insertUsage(this.#db, usage);
    const cancelled = pb.status === 'cancelling' || pb.status === 'cancelled';
    const leftover = cancelled ? null : (line: ProviderLine): string => missingLine(line, state.expired);
    if (await this.#store.finish(pb.batchId, this.owner, recorded, leftover, state.status)) {
      this.#events(pb.provider, 'ended');
      this.#logger.info({ batch: pb.batchId, provider: pb.provider, providerBatch: ref.id, status: state.status, results: recorded.length }, 'provider batch ended');
    }
    this.#ended();
  }

  /** The provider refused the batch: its lines run line by line; the batch's `errors` say so. */
  async #refuse(pb: ClaimedProviderBatch, why: string): Promise<void> {
    const note: LineError = { code: 'SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED', message: `The provider "${pb.provider}" refused the batch (${why}); its requests ran one by one through the gateway instead.`, param: null, line: null };
    if (await this.#store.refused(pb.batchId, this.owner, note)) {
      this.#events(pb.provider, 'refused');
      this.#logger.warn({ batch: pb.batchId, provider: pb.provider, why }, 'provider refused the batch; running it line by line');
    }
    this.#ended();
  }

  async #later(pb: ClaimedProviderBatch, status: string | null): Promise<void> {
    await this.#store.release(pb.batchId, this.owner, this.#clock.now() + this.#options.providerPollMs, status);
  }
}

/** The output line of a request the ended provider batch gave no result for. */
function missingLine(line: ProviderLine, expired: boolean): string {
  const e = expired ? new SluiceError('SLUICE_ERR_BATCH_EXPIRED') : new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: "The provider's batch ended without a result for this request." });
  return outputLine(line.customId, null, { code: e.code, message: e.message });
}
