/**
 * The durable state of batches passed through to a provider's batch API (issue 21;
 * migration 8, `provider_batches`; docs/batches.md). One row per passed-through batch:
 *
 *   pending ──> submitting ──> running ──> done
 *      │             │            └──> refused (the provider failed it: its lines run line by line)
 *      └─────────────┴──> refused / done (cancelled before it reached the provider)
 *
 * A runner works on a row only under its lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so two
 * instances never submit or finish the same batch at once; a runner that dies stops renewing
 * and another takes the row over once the lease ran out. `submitting` is stored before the
 * provider is asked to create the batch, so whoever takes over knows that a batch may exist
 * at the provider already and looks for it before creating one (providers/batch.ts, submit).
 * The batch's lines are `provider` in `batch_lines` until its results are recorded.
 */
import type { Database } from '../db/types.js';
import type { Principal } from '../exchange/principal.js';
import type { ProviderBatchRef } from '../providers/batch.js';
import type { ModelPrice } from '../tokens/prices.js';
import type { LineError } from './input.js';
import type { PassthroughPlan } from './provider-plan.js';

export type ProviderBatchState = 'pending' | 'submitting' | 'running' | 'done' | 'refused';

/** A row claimed by a runner, with what it needs of its batch. */
export interface ClaimedProviderBatch {
  readonly batchId: string;
  readonly provider: string;
  readonly route: string;
  readonly model: string;
  readonly targetModel: string;
  readonly price: ModelPrice | null;
  readonly state: ProviderBatchState;
  /** Set once the provider created the batch. */
  readonly ref: ProviderBatchRef | null;
  readonly submittedAt: number | null;
  readonly cancelSent: boolean;
  /** The Sluice batch: its status (`cancelling` is acted on), endpoint and principal. */
  readonly status: string;
  readonly endpoint: string;
  readonly principal: Principal;
}

/** A line still at the provider. */
export interface ProviderLine {
  readonly id: string;
  readonly line: number;
  readonly customId: string;
  readonly body: string;
}

/** A line's result to record: its output line, ok when 2xx. */
export interface LineResult {
  readonly lineId: string;
  readonly ok: boolean;
  readonly result: string;
}

type Tx = Pick<Database, 'query'>;

export async function insertProviderBatch(tx: Tx, batchId: string, plan: PassthroughPlan): Promise<void> {
  await tx.query("INSERT INTO provider_batches (batch_id, provider, route, model, target_model, price, state) VALUES ($1, $2, $3, $4, $5, $6, 'pending')", [
    batchId,
    plan.provider,
    plan.route,
    plan.model,
    plan.targetModel,
    plan.price === null ? null : JSON.stringify(plan.price),
  ]);
}

interface Row extends Record<string, unknown> {
  batch_id: string;
  provider: string;
  route: string;
  model: string;
  target_model: string;
  price: string | null;
  state: ProviderBatchState;
  provider_batch_id: string | null;
  provider_file_id: string | null;
  submitted_at: number | string | null;
  cancel_sent: number | string;
}

export class ProviderBatchStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Leases up to `limit` rows due for a step (`next_poll_at` reached, no live lease) to `owner` until `leaseUntil`. */
  async claim(owner: string, limit: number, now: number, leaseUntil: number): Promise<ClaimedProviderBatch[]> {
    const pick = `SELECT batch_id FROM provider_batches WHERE state IN ('pending', 'submitting', 'running') AND next_poll_at <= $3 AND (lease_owner IS NULL OR lease_expires <= $3) ORDER BY next_poll_at LIMIT $4${this.#db.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''}`;
    const sql = `UPDATE provider_batches SET lease_owner = $1, lease_expires = $2 WHERE batch_id IN (${pick})
      RETURNING batch_id, provider, route, model, target_model, price, state, provider_batch_id, provider_file_id, submitted_at, cancel_sent`;
    const params = [owner, leaseUntil, now, limit];
    const rows = this.#db.kind === 'postgres' ? await this.#db.query<Row>(sql, params) : await this.#db.transaction((tx) => tx.query<Row>(sql, params));
    const out: ClaimedProviderBatch[] = [];
    for (const r of rows) {
      const batches = await this.#db.query<{ status: string; endpoint: string; principal: string }>('SELECT status, endpoint, principal FROM batches WHERE id = $1', [r.batch_id]);
      const b = batches[0];
      if (b === undefined) {
        // The batch was purged: nothing is left to do for its row.
        await this.#db.query("UPDATE provider_batches SET state = 'done', lease_owner = NULL WHERE batch_id = $1", [r.batch_id]);
        continue;
      }
      out.push({
        batchId: r.batch_id,
        provider: r.provider,
        route: r.route,
        model: r.model,
        targetModel: r.target_model,
        price: r.price === null ? null : (JSON.parse(r.price) as ModelPrice),
        state: r.state,
        ref: r.provider_batch_id === null ? null : { id: r.provider_batch_id, fileId: r.provider_file_id },
        submittedAt: r.submitted_at === null ? null : Number(r.submitted_at),
        cancelSent: Number(r.cancel_sent) === 1,
        status: b.status,
        endpoint: b.endpoint,
        principal: JSON.parse(b.principal) as Principal,
      });
    }
    return out;
  }

  /** Extends `owner`'s lease while a step is under way (a slow provider must not let another instance take the row mid-step). */
  async renew(batchId: string, owner: string, leaseUntil: number): Promise<void> {
    await this.#db.query('UPDATE provider_batches SET lease_expires = $3 WHERE batch_id = $1 AND lease_owner = $2', [batchId, owner, leaseUntil]);
  }

  /** The batch's lines still at the provider, in input order. */
  async lines(batchId: string): Promise<ProviderLine[]> {
    const rows = await this.#db.query<{ id: string; line: number | string; custom_id: string; body: string }>("SELECT id, line, custom_id, body FROM batch_lines WHERE batch_id = $1 AND state = 'provider' ORDER BY line", [batchId]);
    return rows.map((r) => ({ id: r.id, line: Number(r.line), customId: r.custom_id, body: r.body }));
  }

  /** Stored before the provider is asked to create the batch (its first time, `now`, is kept). False when the lease was lost. */
  async submitting(batchId: string, owner: string, now: number): Promise<boolean> {
    const rows = await this.#db.query("UPDATE provider_batches SET state = 'submitting', submitted_at = COALESCE(submitted_at, $3) WHERE batch_id = $1 AND lease_owner = $2 RETURNING batch_id", [batchId, owner, now]);
    return rows.length > 0;
  }

  /** The provider created the batch: its ids, from now on polled. */
  async submitted(batchId: string, owner: string, ref: ProviderBatchRef, nextPollAt: number): Promise<void> {
    await this.#db.query(
      "UPDATE provider_batches SET state = 'running', provider_batch_id = $3, provider_file_id = $4, provider_status = 'submitted', lease_owner = NULL, next_poll_at = $5 WHERE batch_id = $1 AND lease_owner = $2",
      [batchId, owner, ref.id, ref.fileId, nextPollAt],
    );
  }

  async cancelSent(batchId: string, owner: string): Promise<void> {
    await this.#db.query('UPDATE provider_batches SET cancel_sent = 1 WHERE batch_id = $1 AND lease_owner = $2', [batchId, owner]);
  }

  /** Records lines answered before the batch reached the provider (a line it cannot take: the translation refused it). */
  async record(results: readonly LineResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.#db.transaction(async (tx) => {
      for (const r of results) await tx.query("UPDATE batch_lines SET state = 'done', ok = $2, result = $3 WHERE id = $1 AND state = 'provider'", [r.lineId, r.ok ? 1 : 0, r.result]);
    });
  }

  /** Gives the row back until `nextPollAt` (the provider is still at work, or did not answer), noting its status. */
  async release(batchId: string, owner: string, nextPollAt: number, providerStatus: string | null): Promise<void> {
    await this.#db.query('UPDATE provider_batches SET lease_owner = NULL, next_poll_at = $3, provider_status = COALESCE($4, provider_status) WHERE batch_id = $1 AND lease_owner = $2', [
      batchId,
      owner,
      nextPollAt,
      providerStatus,
    ]);
  }

  /**
   * The provider refused the batch: its lines go to the batch runner (line by line, through
   * the pipeline) and the batch's `errors` say why. Once, under the lease.
   */
  async refused(batchId: string, owner: string, note: LineError): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const moved = await tx.query("UPDATE provider_batches SET state = 'refused', error = $3, lease_owner = NULL WHERE batch_id = $1 AND lease_owner = $2 RETURNING batch_id", [batchId, owner, note.message]);
      if (moved.length === 0) return false;
      await tx.query("UPDATE batch_lines SET state = 'pending' WHERE batch_id = $1 AND state = 'provider'", [batchId]);
      await tx.query('UPDATE batches SET errors = $2 WHERE id = $1', [batchId, JSON.stringify([note])]);
      return true;
    });
  }

  /**
   * Records results and ends the row, once, under the lease: each line's output line (only
   * while the line is still at the provider), then what is left of its lines: `leftover`
   * gives an unanswered line's output line (recorded as failed), or null to drop it (a
   * cancelled batch keeps only what ran).
   */
  async finish(batchId: string, owner: string, results: readonly LineResult[], leftover: ((line: ProviderLine) => string) | null, providerStatus: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const moved = await tx.query("UPDATE provider_batches SET state = 'done', provider_status = $3, lease_owner = NULL WHERE batch_id = $1 AND lease_owner = $2 AND state <> 'done' RETURNING batch_id", [batchId, owner, providerStatus]);
      if (moved.length === 0) return false;
      for (const r of results) {
        await tx.query("UPDATE batch_lines SET state = 'done', ok = $2, result = $3 WHERE id = $1 AND state = 'provider'", [r.lineId, r.ok ? 1 : 0, r.result]);
      }
      const rest = await tx.query<{ id: string; line: number | string; custom_id: string; body: string }>("SELECT id, line, custom_id, body FROM batch_lines WHERE batch_id = $1 AND state = 'provider'", [batchId]);
      for (const l of rest) {
        if (leftover === null) await tx.query("UPDATE batch_lines SET state = 'dropped' WHERE id = $1", [l.id]);
        else await tx.query("UPDATE batch_lines SET state = 'done', ok = 0, result = $2 WHERE id = $1", [l.id, leftover({ id: l.id, line: Number(l.line), customId: l.custom_id, body: l.body })]);
      }
      return true;
    });
  }
}
