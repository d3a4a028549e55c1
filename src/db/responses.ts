/**
 * Stored responses of the Responses API (issue 18): what `store` keeps, `previous_response_id`
 * continues, and GET / DELETE /v1/responses/{id} read and remove. Rows belong to a tenant (the
 * principal's id: `key:<id>`, `jwt:<subject>` or `anonymous`); every read names the tenant,
 * so one key never sees another's response (it is simply not found). Rows expire after the
 * retention (`responses.retention`): expired ones are never returned, and are deleted at most
 * once per PURGE_EVERY_MS, on a write.
 */
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { JsonObject } from '../providers/types.js';
import type { Database } from './types.js';

const PURGE_EVERY_MS = 3_600_000;

export interface StoredResponse {
  readonly id: string;
  /** The response object as the client got it. */
  readonly response: JsonObject;
  /** The turn's input items, with ids. */
  readonly inputItems: JsonObject[];
  /**
   * The whole conversation so far as Responses API items (earlier turns, this input, this
   * output as the provider wrote it), without instructions; null in a row stored before
   * migration 9, which has `messages` only.
   */
  readonly items: JsonObject[] | null;
  /** Rows before migration 9: the conversation as chat messages. Empty in newer rows. */
  readonly messages: JsonObject[];
}

interface Row extends Record<string, unknown> {
  id: string;
  response: string;
  input_items: string;
  messages: string;
  items: string | null;
}

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
  async get(tenant: string, id: string): Promise<StoredResponse | null> {
    await this.#pending.get(id);
    const rows = await this.#read(() => this.#db.query<Row>('SELECT id, response, input_items, messages, items FROM stored_responses WHERE id = $1 AND tenant = $2 AND expires_at > $3', [id, tenant, this.#clock.now()]));
    const row = rows[0];
    if (row === undefined) return null;
    return { id: row.id, response: JSON.parse(row.response) as JsonObject, inputItems: JSON.parse(row.input_items) as JsonObject[], messages: JSON.parse(row.messages) as JsonObject[], items: row.items === null ? null : (JSON.parse(row.items) as JsonObject[]) };
  }

  /** Deletes the tenant's response `id`; false when there was none. */
  async delete(tenant: string, id: string): Promise<boolean> {
    await this.#pending.get(id);
    const rows = await this.#read(() => this.#db.query<{ id: string }>('DELETE FROM stored_responses WHERE id = $1 AND tenant = $2 AND expires_at > $3 RETURNING id', [id, tenant, this.#clock.now()]));
    return rows.length > 0;
  }

  /** Resolves once every write begun so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending.values());
  }

  async #write(tenant: string, s: StoredResponse, now: number): Promise<void> {
    const createdAt = typeof s.response.created_at === 'number' ? s.response.created_at * 1000 : now;
    await this.#db.query('INSERT INTO stored_responses (id, tenant, created_at, expires_at, response, input_items, messages, items) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      s.id,
      tenant,
      createdAt,
      now + this.#retentionMs,
      JSON.stringify(s.response),
      JSON.stringify(s.inputItems),
      JSON.stringify(s.messages),
      s.items === null ? null : JSON.stringify(s.items),
    ]);
    if (now - this.#purgedAt >= PURGE_EVERY_MS) {
      this.#purgedAt = now;
      await this.#db.query('DELETE FROM stored_responses WHERE expires_at <= $1', [now]);
    }
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: 'Stored responses cannot be read right now.', cause: err });
    }
  }
}
