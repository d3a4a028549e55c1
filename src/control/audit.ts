import type { Database, Row } from '../db/types.js';
import { recordId, storable } from '../accounting/record.js';

/** One admin change: who (the token's name and role), what, when, from where, and how it ended. */
export interface AuditEntry {
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly at: string;
  readonly actor: string;
  readonly role: string;
  readonly method: string;
  /** The route as registered (`/admin/keys/:id/rotate`), not the raw URL. */
  readonly action: string;
  /** The path's `:id`, when the route has one. */
  readonly target: string | null;
  readonly status: number;
  readonly ip: string;
  readonly requestId: string;
  /** The request body as JSON text, cut at DETAIL_MAX characters; null without one. Admin bodies carry no secrets (created keys' values are in answers, never in requests). */
  readonly detail: string | null;
}

/** The longest request body kept in an entry's `detail`. */
export const DETAIL_MAX = 4_096;

/** Longest page of the audit API. */
export const AUDIT_PAGE_MAX = 500;

/**
 * The admin audit log (issue 20), in the database every instance shares: every request that
 * could change something (any method but GET and HEAD) by a caller holding a valid admin
 * token is written before its answer goes out, refused ones (403) included, so an answer
 * the caller received always has its entry. Requests without a valid token are not written
 * (anyone could fill the table).
 */
export class AuditLog {
  readonly #db: Database;
  readonly #now: () => number;
  /** The time part of the last id: ids made in one millisecond would order at random. */
  #lastIdMs = 0;

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async write(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    const nowMs = this.#now();
    // Strictly increasing ids within this instance, so the log's order is the order of changes.
    this.#lastIdMs = Math.max(nowMs, this.#lastIdMs + 1);
    const detail = entry.detail === null ? null : storable(entry.detail.length > DETAIL_MAX ? entry.detail.slice(0, DETAIL_MAX) : entry.detail);
    await this.#db.query(
      'INSERT INTO admin_audit (id, at, actor, role, method, action, target, status, ip, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [recordId(this.#lastIdMs), new Date(nowMs).toISOString(), storable(entry.actor), entry.role, entry.method, storable(entry.action), entry.target === null ? null : storable(entry.target), entry.status, storable(entry.ip), storable(entry.requestId), detail],
    );
  }

  /** Newest first; `before` (an entry id) pages back. */
  async list(limit: number, before: string | null): Promise<AuditEntry[]> {
    const rows =
      before === null
        ? await this.#db.query('SELECT * FROM admin_audit ORDER BY id DESC LIMIT $1', [limit])
        : await this.#db.query('SELECT * FROM admin_audit WHERE id < $1 ORDER BY id DESC LIMIT $2', [before, limit]);
    return rows.map(toEntry);
  }
}

function toEntry(r: Row): AuditEntry {
  const at = r.at instanceof Date ? r.at.toISOString() : String(r.at);
  return {
    id: String(r.id),
    at,
    actor: String(r.actor),
    role: String(r.role),
    method: String(r.method),
    action: String(r.action),
    target: r.target === null ? null : String(r.target),
    status: Number(r.status),
    ip: String(r.ip),
    requestId: String(r.request_id),
    detail: r.detail === null ? null : String(r.detail),
  };
}
