/**
 * Stored responses of the Responses API (issue 18): what `store` keeps, `previous_response_id`
 * continues, and GET / DELETE /v1/responses/{id} read and remove. Rows belong to a tenant (the
 * principal's id: `key:<id>`, `jwt:<subject>` or `anonymous`); every read names the tenant,
 * so one key never sees another's response (it is simply not found). Rows expire after the
 * retention (`responses.retention`): expired ones are never returned, and are deleted at most
 * once per PURGE_EVERY_MS, on a write.
 *
 * A row keeps its own turn (input and output items) and the id of the response it continues,
 * so a conversation of n turns stores each turn once, not n²/2 turns; `conversation` follows
 * the chain back with one recursive query (SQLite and PostgreSQL alike). Two rules keep a
 * chain whole:
 * - A response that a newer one continues is kept at least as long as the newer one: storing
 *   a turn extends its ancestors' expiry, by up to CHAIN_SLACK_MS more than the newest turn's,
 *   so an ancestor is rewritten at most once per that time rather than on every turn.
 * - Deleting a response that later ones continue removes it for its client at once (GET,
 *   DELETE and continuing from it answer 404; its response object and input list are
 *   dropped), but its turn stays, as a hidden row, while the later ones need it. Deleting the
 *   last response that needs such hidden rows removes them too.
 * Rows written before migration 10 hold the whole conversation up to them (as items, or as
 * chat messages before migration 9): a chain stops there.
 */
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { JsonObject } from '../providers/types.js';
import type { Database } from './types.js';

const PURGE_EVERY_MS = 3_600_000;
/** The most an ancestor's expiry is set past the newest turn's (and at most half the retention). */
const CHAIN_SLACK_MS = 86_400_000;
/** A chain longer than this is not followed: a guard, as a row can only name an earlier one. */
const MAX_CHAIN = 100_000;

export interface StoredResponse {
  readonly id: string;
  /** The response object as the client got it. */
  readonly response: JsonObject;
  /** The turn's input items, with ids. */
  readonly inputItems: JsonObject[];
  /** This turn's own items as Responses API items: its input, then its output as the provider wrote it; no instructions. */
  readonly items: JsonObject[];
  /** The stored response this one continues (its `previous_response_id`), or null. */
  readonly previous: string | null;
}

/** What GET /v1/responses/{id} and its input_items read. */
export interface StoredAnswer {
  readonly id: string;
  readonly response: JsonObject;
  readonly inputItems: JsonObject[];
}

/**
 * One stored part of a conversation: a turn's own items; or, from a row written before
 * migration 10, the whole conversation up to it, as items, or (before migration 9, `items`
 * null) as chat messages.
 */
export interface ConversationPart {
  readonly items: JsonObject[] | null;
  readonly messages: JsonObject[];
}

interface AnswerRow extends Record<string, unknown> {
  id: string;
  response: string;
  input_items: string;
}

interface ChainRow extends Record<string, unknown> {
  previous_id: string | null;
  own_items: number | string;
  items: string | null;
  messages: string;
  live: number | string;
}

/** The rows of a chain, from response $1 of tenant $2 back; `depth` 0 is $1 itself. */
const CHAIN = `chain (id, previous_id, own_items, depth) AS (
    SELECT id, previous_id, own_items, 0 FROM stored_responses WHERE id = $1 AND tenant = $2
    UNION ALL
    SELECT r.id, r.previous_id, r.own_items, chain.depth + 1
      FROM stored_responses r JOIN chain ON r.id = chain.previous_id
     WHERE chain.own_items = 1 AND r.tenant = $2 AND chain.depth < ${MAX_CHAIN}
  )`;

export class ResponsesStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #logger: Logger;
  /** Writes not yet done, by response id: a read of one waits for it (the client may ask at once). */
  readonly #pending = new Map<string, Promise<void>>();
  #purgedAt = Number.NEGATIVE_INFINITY;

  constructor(db: Database, clock: Clock, retentionMs: number, logger: Logger) {
    if (!(retentionMs > 0)) throw new Error('ResponsesStore: retentionMs must be positive');
    this.#db = db;
    this.#clock = clock;
    this.#retentionMs = retentionMs;
    this.#logger = logger;
  }

  /**
   * Keeps a response, in the background: the answer does not wait for the database. A write
   * that fails is logged (the client has its answer; only a later continuation will miss it).
   */
  put(tenant: string, stored: StoredResponse): void {
    const now = this.#clock.now();
    const write = this.#write(tenant, stored, now)
      .catch((err: unknown) => this.#logger.warn({ err, responseId: stored.id }, 'stored response not written'))
      .finally(() => this.#pending.delete(stored.id));
    this.#pending.set(stored.id, write);
  }

  /** The tenant's response `id`, or null when there is none (another tenant's, deleted, expired). */
  async get(tenant: string, id: string): Promise<StoredAnswer | null> {
    await this.#pending.get(id);
    const rows = await this.#read(() => this.#db.query<AnswerRow>('SELECT id, response, input_items FROM stored_responses WHERE id = $1 AND tenant = $2 AND expires_at > $3 AND deleted = 0', [id, tenant, this.#clock.now()]));
    const row = rows[0];
    if (row === undefined) return null;
    return { id: row.id, response: JSON.parse(row.response) as JsonObject, inputItems: JSON.parse(row.input_items) as JsonObject[] };
  }

  /**
   * The conversation that the tenant's response `id` ends, oldest part first (its own turn
   * last), or null when there is no such response. A chain missing a part (a row removed
   * outside Sluice) is a 404 that says so, never a conversation with a turn left out.
   */
  async conversation(tenant: string, id: string): Promise<ConversationPart[] | null> {
    await this.#pending.get(id);
    const rows = await this.#read(() =>
      this.#db.query<ChainRow>(
        `WITH RECURSIVE ${CHAIN}
         SELECT c.previous_id, c.own_items, r.items, r.messages, CASE WHEN r.expires_at > $3 AND r.deleted = 0 THEN 1 ELSE 0 END AS live
           FROM chain c JOIN stored_responses r ON r.id = c.id ORDER BY c.depth DESC`,
        [id, tenant, this.#clock.now()],
      ),
    );
    // The response itself (the last row) must be live: not deleted, not expired.
    if (rows.length === 0 || Number(rows.at(-1)!.live) !== 1) return null;
    const first = rows[0]!;
    if (Number(first.own_items) === 1 && first.previous_id !== null) {
      throw new SluiceError('SLUICE_ERR_RESPONSE_NOT_FOUND', { message: `An earlier response of this conversation (${JSON.stringify(first.previous_id)}) is no longer stored.`, param: 'previous_response_id' });
    }
    return rows.map((r) => ({ items: r.items === null ? null : (JSON.parse(r.items) as JsonObject[]), messages: JSON.parse(r.messages) as JsonObject[] }));
  }

  /**
   * Deletes the tenant's response `id`; false when there was none. One that later responses
   * continue stays as a hidden turn of theirs (see above); deleting the last response that
   * needs hidden ones removes them.
   */
  async delete(tenant: string, id: string): Promise<boolean> {
    await this.#pending.get(id);
    const now = this.#clock.now();
    return this.#read(() =>
      this.#db.transaction(async (tx) => {
        const continued = async (of: string): Promise<boolean> => (await tx.query('SELECT 1 AS one FROM stored_responses WHERE previous_id = $1 AND tenant = $2 LIMIT 1', [of, tenant])).length > 0;
        const row = (await tx.query<{ previous_id: string | null }>('SELECT previous_id FROM stored_responses WHERE id = $1 AND tenant = $2 AND expires_at > $3 AND deleted = 0', [id, tenant, now]))[0];
        if (row === undefined) return false;
        if (await continued(id)) {
          await tx.query(`UPDATE stored_responses SET deleted = 1, response = '{}', input_items = '[]' WHERE id = $1 AND tenant = $2`, [id, tenant]);
          return true;
        }
        await tx.query('DELETE FROM stored_responses WHERE id = $1 AND tenant = $2', [id, tenant]);
        // Hidden ancestors that nothing continues any more go too.
        let up = row.previous_id;
        for (let depth = 0; up !== null && depth < MAX_CHAIN; depth++) {
          const parent = (await tx.query<{ previous_id: string | null; deleted: number | string }>('SELECT previous_id, deleted FROM stored_responses WHERE id = $1 AND tenant = $2', [up, tenant]))[0];
          if (parent === undefined || Number(parent.deleted) !== 1 || (await continued(up))) break;
          await tx.query('DELETE FROM stored_responses WHERE id = $1 AND tenant = $2', [up, tenant]);
          up = parent.previous_id;
        }
        return true;
      }),
    );
  }

  /** Resolves once every write begun so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending.values());
  }

  async #write(tenant: string, s: StoredResponse, now: number): Promise<void> {
    const createdAt = typeof s.response.created_at === 'number' ? s.response.created_at * 1000 : now;
    const expiresAt = now + this.#retentionMs;
    await this.#db.query('INSERT INTO stored_responses (id, tenant, created_at, expires_at, response, input_items, messages, items, previous_id, own_items) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)', [
      s.id,
      tenant,
      createdAt,
      expiresAt,
      JSON.stringify(s.response),
      JSON.stringify(s.inputItems),
      '[]',
      JSON.stringify(s.items),
      s.previous,
    ]);
    if (s.previous !== null) {
      // The turns this one continues live at least as long as it does.
      const slack = Math.min(CHAIN_SLACK_MS, Math.floor(this.#retentionMs / 2));
      await this.#db.query(`WITH RECURSIVE ${CHAIN} UPDATE stored_responses SET expires_at = $3 WHERE tenant = $2 AND expires_at < $4 AND id IN (SELECT id FROM chain)`, [s.previous, tenant, expiresAt + slack, expiresAt]);
    }
    if (now - this.#purgedAt >= PURGE_EVERY_MS) {
      this.#purgedAt = now;
      await this.#db.query('DELETE FROM stored_responses WHERE expires_at <= $1', [now]);
    }
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: 'Stored responses cannot be read right now.', cause: err });
    }
  }
}
