/**
 * The Batch API's durable jobs (issue 21; docs/batches.md): a `batches` row per batch and a
 * `batch_lines` row per request line, with its state, attempt count, lease and result.
 *
 * A line is `pending`, then `leased` by one runner (owner and expiry), then `done` with its
 * output line recorded. Every instance's runner claims lines with one statement (PostgreSQL:
 * `FOR UPDATE SKIP LOCKED`, so two instances never take the same line; SQLite: one writer, in
 * a transaction). A lease that expires (its instance died) makes the line claimable again.
 * A result is recorded only while the line is not `done`: once recorded, a line is never
 * claimed, and a late second result is dropped.
 */
import { SluiceError } from '../errors.js';
import type { Database } from '../db/types.js';
import type { Principal } from '../exchange/principal.js';
import { insertFile, timeOrderedId, type FileObject, type Page } from './files.js';
import type { InputLine, LineError } from './input.js';
import type { PassthroughPlan } from './provider-plan.js';
import { insertProviderBatch } from './provider-store.js';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** A Batch object as OpenAI's API returns it (times in seconds since the epoch). */
export interface BatchObject {
  readonly id: string;
  readonly object: 'batch';
  readonly endpoint: string;
  readonly errors: { readonly object: 'list'; readonly data: readonly LineError[] } | null;
  readonly input_file_id: string;
  readonly completion_window: string;
  readonly status: BatchStatus;
  readonly output_file_id: string | null;
  readonly error_file_id: string | null;
  readonly created_at: number;
  readonly in_progress_at: number | null;
  readonly expires_at: number;
  readonly finalizing_at: number | null;
  readonly completed_at: number | null;
  readonly failed_at: number | null;
  readonly expired_at: number | null;
  readonly cancelling_at: number | null;
  readonly cancelled_at: number | null;
  readonly request_counts: { readonly total: number; readonly completed: number; readonly failed: number };
  readonly metadata: Record<string, string> | null;
}

export interface NewBatch {
  readonly endpoint: string;
  readonly inputFileId: string;
  readonly completionWindow: string;
  readonly windowMs: number;
  readonly metadata: Record<string, string> | null;
}

/** A line claimed by a runner, with what it needs to run it. */
export interface ClaimedLine {
  readonly id: string;
  readonly batchId: string;
  readonly line: number;
  readonly customId: string;
  readonly body: string;
  /** How many times it has been claimed, this time included. */
  readonly attempts: number;
}

/** What a runner needs of a line's batch: where its lines go and as whom they run. */
export interface BatchJob {
  readonly id: string;
  readonly endpoint: string;
  readonly principal: Principal;
  /** The batch's key has been revoked or has expired since: its lines are refused, not run. */
  readonly keyGone: boolean;
}

interface BatchRow extends Record<string, unknown> {
  id: string;
  tenant: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  metadata: string | null;
  errors: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  total: number | string;
  created_at: number | string;
  expires_at: number | string;
  in_progress_at: number | string | null;
  finalizing_at: number | string | null;
  completed_at: number | string | null;
  failed_at: number | string | null;
  expired_at: number | string | null;
  cancelling_at: number | string | null;
  cancelled_at: number | string | null;
  completed: number | string | null;
  failed: number | string | null;
}

const BATCH_COLUMNS =
  'b.id, b.tenant, b.endpoint, b.input_file_id, b.completion_window, b.status, b.metadata, b.errors, b.output_file_id, b.error_file_id, b.total, b.created_at, b.expires_at, b.in_progress_at, b.finalizing_at, b.completed_at, b.failed_at, b.expired_at, b.cancelling_at, b.cancelled_at';
const COUNTS =
  "(SELECT count(*) FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'done' AND l.ok = 1) AS completed, (SELECT count(*) FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'done' AND l.ok = 0) AS failed";

/** Rows per INSERT when a batch's lines are stored (5 parameters each: well under SQLite's limit). */
const LINES_PER_INSERT = 200;

/** A boolean as either database returns it (PostgreSQL: true/false, SQLite: 1/0). */
function truthy(v: number | string | boolean): boolean {
  return v === true || Number(v) === 1;
}

function seconds(ms: number | string | null): number | null {
  return ms === null ? null : Math.floor(Number(ms) / 1000);
}

function toObject(r: BatchRow): BatchObject {
  return {
    id: r.id,
    object: 'batch',
    endpoint: r.endpoint,
    errors: r.errors === null ? null : { object: 'list', data: JSON.parse(r.errors) as LineError[] },
    input_file_id: r.input_file_id,
    completion_window: r.completion_window,
    status: r.status,
    output_file_id: r.output_file_id,
    error_file_id: r.error_file_id,
    created_at: seconds(r.created_at)!,
    in_progress_at: seconds(r.in_progress_at),
    expires_at: seconds(r.expires_at)!,
    finalizing_at: seconds(r.finalizing_at),
    completed_at: seconds(r.completed_at),
    failed_at: seconds(r.failed_at),
    expired_at: seconds(r.expired_at),
    cancelling_at: seconds(r.cancelling_at),
    cancelled_at: seconds(r.cancelled_at),
    request_counts: { total: Number(r.total), completed: Number(r.completed ?? 0), failed: Number(r.failed ?? 0) },
    metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, string>),
  };
}

/** How a batch ends: all lines done, past its window, or cancelled. */
export type Ending = 'completed' | 'expired' | 'cancelled';

export class BatchStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Stores a batch: `in_progress` with its lines, or `failed` with `errors` when its input
   * file has bad lines (nothing of it runs then, as OpenAI does).
   */
  async create(tenant: string, principal: Principal, b: NewBatch, input: { lines: readonly InputLine[]; errors: readonly LineError[] }, now: number, plan: PassthroughPlan | null = null): Promise<BatchObject> {
    const id = timeOrderedId('batch_', now);
    const failed = input.errors.length > 0;
    await this.#guarded(() =>
      this.#db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO batches (id, tenant, principal, endpoint, input_file_id, completion_window, status, metadata, errors, total, created_at, expires_at, in_progress_at, failed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            id,
            tenant,
            JSON.stringify(principal),
            b.endpoint,
            b.inputFileId,
            b.completionWindow,
            failed ? 'failed' : 'in_progress',
            b.metadata === null ? null : JSON.stringify(b.metadata),
            failed ? JSON.stringify(input.errors) : null,
            failed ? 0 : input.lines.length,
            now,
            now + b.windowMs,
            failed ? null : now,
            failed ? now : null,
          ],
        );
        if (failed) return;
        // A batch passed through to its provider's batch API (issue 21): its lines wait for the provider's results, not for a runner.
        const lineState = plan === null ? 'pending' : 'provider';
        if (plan !== null) await insertProviderBatch(tx, id, plan);
        for (let i = 0; i < input.lines.length; i += LINES_PER_INSERT) {
          const chunk = input.lines.slice(i, i + LINES_PER_INSERT);
          const params: unknown[] = [];
          const values = chunk.map((l) => {
            params.push(`${id}:${l.line}`, id, l.line, l.customId, l.body);
            const n = params.length;
            return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}, '${lineState}')`;
          });
          await tx.query(`INSERT INTO batch_lines (id, batch_id, line, custom_id, body, state) VALUES ${values.join(', ')}`, params);
        }
      }),
    );
    const made = await this.get(tenant, id);
    if (made === null) throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: 'The batch was stored but cannot be read back.' });
    return made;
  }

  /** The tenant's batch `id`, or null (another tenant's, or none). */
  async get(tenant: string, id: string): Promise<BatchObject | null> {
    const rows = await this.#guarded(() => this.#db.query<BatchRow>(`SELECT ${BATCH_COLUMNS}, ${COUNTS} FROM batches b WHERE b.id = $1 AND b.tenant = $2`, [id, tenant]));
    return rows[0] === undefined ? null : toObject(rows[0]);
  }

  /** The tenant's batches, newest first, `limit` after the batch `after`. */
  async list(tenant: string, after: string | null, limit: number): Promise<Page<BatchObject>> {
    const params: unknown[] = [tenant];
    let where = 'b.tenant = $1';
    if (after !== null) {
      params.push(after);
      where += ' AND b.id < $2';
    }
    params.push(limit + 1);
    const rows = await this.#guarded(() => this.#db.query<BatchRow>(`SELECT ${BATCH_COLUMNS}, ${COUNTS} FROM batches b WHERE ${where} ORDER BY b.id DESC LIMIT $${params.length}`, params));
    const data = rows.slice(0, limit).map(toObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit };
  }

  /**
   * Cancels the tenant's batch: `cancelling` until no line is running, then `cancelled` (by a
   * runner). Cancelling one already cancelling or cancelled answers it as it is; one that has
   * ended otherwise is SLUICE_ERR_BATCH_NOT_CANCELLABLE. Null when there is no such batch.
   */
  async cancel(tenant: string, id: string, now: number): Promise<BatchObject | null> {
    await this.#guarded(() => this.#db.query(`UPDATE batches SET status = 'cancelling', cancelling_at = $3 WHERE id = $1 AND tenant = $2 AND status IN ('validating', 'in_progress')`, [id, tenant, now]));
    const batch = await this.get(tenant, id);
    if (batch === null) return null;
    if (batch.status !== 'cancelling' && batch.status !== 'cancelled') {
      throw new SluiceError('SLUICE_ERR_BATCH_NOT_CANCELLABLE', { message: `The batch ${batch.id} has already ended (status ${batch.status}) and cannot be cancelled.` });
    }
    return batch;
  }

  /**
   * Leases up to `limit` lines of running batches to `owner` until `leaseUntil`: pending
   * lines, and leased ones whose lease ran out (their runner died, or a retry's wait is over).
   */
  async claim(owner: string, limit: number, now: number, leaseUntil: number): Promise<ClaimedLine[]> {
    const pick =
      "SELECT l.id FROM batch_lines l JOIN batches b ON b.id = l.batch_id WHERE b.status = 'in_progress' AND (l.state = 'pending' OR (l.state = 'leased' AND l.lease_expires <= $3)) ORDER BY l.batch_id, l.line LIMIT $4";
    const sql = `UPDATE batch_lines SET state = 'leased', lease_owner = $1, lease_expires = $2, attempts = attempts + 1
      WHERE id IN (${pick}${this.#db.kind === 'postgres' ? ' FOR UPDATE OF l SKIP LOCKED' : ''})
      RETURNING id, batch_id, line, custom_id, body, attempts`;
    const params = [owner, leaseUntil, now, limit];
    type Claimed = { id: string; batch_id: string; line: number | string; custom_id: string; body: string; attempts: number | string };
    const rows = this.#db.kind === 'postgres' ? await this.#db.query<Claimed>(sql, params) : await this.#db.transaction((tx) => tx.query<Claimed>(sql, params));
    return rows
      .map((r) => ({ id: r.id, batchId: r.batch_id, line: Number(r.line), customId: r.custom_id, body: r.body, attempts: Number(r.attempts) }))
      .sort((a, b) => (a.batchId === b.batchId ? a.line - b.line : a.batchId < b.batchId ? -1 : 1));
  }

  /**
   * The batch a claimed line belongs to: its endpoint, the principal it runs as, and whether
   * that principal's key (a database key) has been revoked or has expired since (`now`).
   */
  async job(batchId: string, now: number): Promise<BatchJob | null> {
    const rows = await this.#db.query<{ id: string; endpoint: string; principal: string }>('SELECT id, endpoint, principal FROM batches WHERE id = $1', [batchId]);
    const r = rows[0];
    if (r === undefined) return null;
    const principal = JSON.parse(r.principal) as Principal;
    let keyGone = false;
    if (principal.kind === 'key' && principal.keyId !== null) {
      const keys = await this.#db.query<{ revoked_at: unknown; expires_at: unknown }>('SELECT revoked_at, expires_at FROM api_keys WHERE id = $1', [principal.keyId]);
      const k = keys[0];
      keyGone = k !== undefined && (k.revoked_at !== null || (k.expires_at !== null && new Date(k.expires_at as string).getTime() <= now));
    }
    return { id: r.id, endpoint: r.endpoint, principal, keyGone };
  }

  /**
   * Extends the leases of the lines `owner` is running to `leaseUntil`. Named by id: a line
   * whose result could not be recorded (the database was away) is no longer running, and its
   * lease must run out so that it runs again.
   */
  async renew(owner: string, lineIds: readonly string[], leaseUntil: number): Promise<void> {
    if (lineIds.length === 0) return;
    const list = lineIds.map((_, i) => `$${i + 3}`).join(', ');
    await this.#db.query(`UPDATE batch_lines SET lease_expires = $2 WHERE lease_owner = $1 AND state = 'leased' AND id IN (${list})`, [owner, leaseUntil, ...lineIds]);
  }

  /**
   * Records a line's output line; true when recorded, false when the line was already done
   * (a runner whose lease had expired finished after another one: its result is dropped).
   */
  async record(lineId: string, ok: boolean, result: string): Promise<boolean> {
    const rows = await this.#db.query<{ id: string }>("UPDATE batch_lines SET state = 'done', ok = $2, result = $3, lease_owner = NULL WHERE id = $1 AND state <> 'done' RETURNING id", [lineId, ok ? 1 : 0, result]);
    return rows.length > 0;
  }

  /** Gives a line back to be claimed again from `at` (rate limited now); only while `owner` holds it. */
  async retryAt(lineId: string, owner: string, at: number): Promise<void> {
    await this.#db.query("UPDATE batch_lines SET lease_owner = NULL, lease_expires = $3 WHERE id = $1 AND lease_owner = $2 AND state = 'leased'", [lineId, owner, at]);
  }

  /**
   * Batches ready to end now: running ones with every line done (completed) or past their
   * window (expired), and cancelling ones with no line running under a live lease (cancelled).
   */
  async endable(now: number): Promise<{ id: string; from: BatchStatus; ending: Ending }[]> {
    // Runs after every finished line: each test is an index probe on (batch_id, state), never a scan of a batch's lines.
    const rows = await this.#db.query<{ id: string; status: BatchStatus; expires_at: number | string; open: number | string | boolean; running: number | string | boolean; passed: number | string | boolean }>(
      `SELECT b.id, b.status, b.expires_at,
         EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state IN ('pending', 'leased', 'provider')) AS open,
         EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'leased' AND l.lease_owner IS NOT NULL AND l.lease_expires > $1) AS running,
         EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'provider') AS passed
       FROM batches b WHERE b.status IN ('in_progress', 'cancelling')`,
      [now],
    );
    const out: { id: string; from: BatchStatus; ending: Ending }[] = [];
    for (const r of rows) {
      // Lines at a provider (pass-through) end with the provider's batch, cancelled or expired by the provider itself.
      if (r.status === 'cancelling') {
        if (!truthy(r.running) && !truthy(r.passed)) out.push({ id: r.id, from: r.status, ending: 'cancelled' });
      } else if (!truthy(r.open)) out.push({ id: r.id, from: r.status, ending: 'completed' });
      else if (Number(r.expires_at) <= now && !truthy(r.passed)) out.push({ id: r.id, from: r.status, ending: 'expired' });
    }
    return out;
  }

  /**
   * Ends a batch, once across instances: in one transaction its status moves from `from` to
   * `ending` (a second instance finds it moved and does nothing), lines not run by an expiry
   * get `expired` (a cancelled batch keeps only its finished lines), and the output and error
   * files are written from the recorded lines. `expiredLine` builds an unrun line's output line.
   */
  async end(batchId: string, from: BatchStatus, ending: Ending, now: number, retentionMs: number, expiredLine: (customId: string) => string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const moved = await tx.query<{ tenant: string }>(`UPDATE batches SET status = $3, finalizing_at = $4, ${ending}_at = $4 WHERE id = $1 AND status = $2 RETURNING tenant`, [batchId, from, ending, now]);
      const tenant = moved[0]?.tenant;
      if (tenant === undefined) return false;
      if (ending === 'expired') {
        const unrun = await tx.query<{ id: string; custom_id: string }>("SELECT id, custom_id FROM batch_lines WHERE batch_id = $1 AND state <> 'done'", [batchId]);
        for (const l of unrun) await tx.query("UPDATE batch_lines SET state = 'done', ok = 0, result = $2, lease_owner = NULL WHERE id = $1", [l.id, expiredLine(l.custom_id)]);
      }
      const done = await tx.query<{ ok: number | string; result: string }>("SELECT ok, result FROM batch_lines WHERE batch_id = $1 AND state = 'done' ORDER BY line", [batchId]);
      const output: string[] = [];
      const errors: string[] = [];
      for (const l of done) (Number(l.ok) === 1 ? output : errors).push(l.result);
      const write = async (lines: string[], kind: string): Promise<FileObject | null> => {
        if (lines.length === 0) return null;
        const insert = insertFile(tenant, { purpose: 'batch_output', filename: `${batchId}_${kind}.jsonl`, content: Buffer.from(`${lines.join('\n')}\n`) }, now, retentionMs);
        await tx.query(insert.sql, insert.params);
        return insert.object;
      };
      const outputFile = await write(output, 'output');
      const errorFile = await write(errors, 'error');
      await tx.query('UPDATE batches SET output_file_id = $2, error_file_id = $3 WHERE id = $1', [batchId, outputFile?.id ?? null, errorFile?.id ?? null]);
      return true;
    });
  }

  /**
   * Deletes batches that ended before `before`, with their lines (their output files expire
   * on their own, by `files.retention`); resolves with how many batches went.
   */
  async purge(before: number): Promise<number> {
    const ended = "status IN ('completed', 'failed', 'expired', 'cancelled') AND COALESCE(finalizing_at, failed_at, created_at) < $1";
    return this.#db.transaction(async (tx) => {
      await tx.query(`DELETE FROM batch_lines WHERE batch_id IN (SELECT id FROM batches WHERE ${ended})`, [before]);
      await tx.query(`DELETE FROM provider_batches WHERE batch_id IN (SELECT id FROM batches WHERE ${ended})`, [before]);
      return (await tx.query<{ id: string }>(`DELETE FROM batches WHERE ${ended} RETURNING id`, [before])).length;
    });
  }

  async #guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: 'Batches cannot be read or written right now.', cause: err });
    }
  }
}
