/**
 * The Files API's store (issue 21): files belong to a tenant (the principal's id: `key:<id>`,
 * `jwt:<subject>` or `anonymous`); every read names the tenant, so one key never sees another's
 * file (it is simply not found), as db/responses.ts does for stored responses. Content is kept
 * as base64 text, so both databases store any bytes the same way. Files expire after
 * `files.retention`: expired ones are never returned, and are deleted at most once per
 * PURGE_EVERY_MS, on an upload.
 */
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';
import type { Database } from '../db/types.js';
import type { Clock } from '../lib/clock.js';

const PURGE_EVERY_MS = 3_600_000;

/** Purposes a client may upload; `batch_output` is written by the gateway only. */
export const UPLOAD_PURPOSES: ReadonlySet<string> = new Set(['batch', 'user_data', 'assistants', 'vision', 'fine-tune', 'evals']);

/** A File object as OpenAI's API returns it (times in seconds since the epoch). */
export interface FileObject {
  readonly id: string;
  readonly object: 'file';
  readonly bytes: number;
  readonly created_at: number;
  readonly expires_at: number;
  readonly filename: string;
  readonly purpose: string;
  readonly status: 'processed';
  readonly status_details: null;
}

export interface NewFile {
  readonly purpose: string;
  readonly filename: string;
  readonly content: Buffer;
}

export interface Page<T> {
  readonly object: 'list';
  readonly data: readonly T[];
  readonly first_id: string | null;
  readonly last_id: string | null;
  readonly has_more: boolean;
}

interface FileRow extends Record<string, unknown> {
  id: string;
  purpose: string;
  filename: string;
  bytes: number | string;
  created_at: number | string;
  expires_at: number | string;
}

/**
 * A time-ordered id: the time in ms (12 hex digits), then 12 random hex digits. Lists page
 * by id (`after`), so ids must sort as they were made.
 */
export function timeOrderedId(prefix: string, nowMs: number): string {
  return `${prefix}${Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12)}${randomBytes(6).toString('hex')}`;
}

function toObject(r: FileRow): FileObject {
  return {
    id: r.id,
    object: 'file',
    bytes: Number(r.bytes),
    created_at: Math.floor(Number(r.created_at) / 1000),
    expires_at: Math.floor(Number(r.expires_at) / 1000),
    filename: r.filename,
    purpose: r.purpose,
    status: 'processed',
    status_details: null,
  };
}

/** The statement and parameters that store a file; batch finalisation runs it inside its transaction. */
export function insertFile(tenant: string, file: NewFile, now: number, retentionMs: number): { sql: string; params: unknown[]; object: FileObject } {
  const id = timeOrderedId('file-', now);
  const row: FileRow = { id, purpose: file.purpose, filename: file.filename, bytes: file.content.length, created_at: now, expires_at: now + retentionMs };
  return {
    sql: 'INSERT INTO files (id, tenant, purpose, filename, bytes, created_at, expires_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    params: [id, tenant, file.purpose, file.filename, file.content.length, now, now + retentionMs, file.content.toString('base64')],
    object: toObject(row),
  };
}

/** `limit` (1–10000, default 10000 for files as OpenAI's), `after`, `order` (desc by default) and `purpose` of a list request. */
export interface FileListQuery {
  readonly limit: number;
  readonly after: string | null;
  readonly order: 'asc' | 'desc';
  readonly purpose: string | null;
}

export class FileStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  #purgedAt = Number.NEGATIVE_INFINITY;

  constructor(db: Database, clock: Clock, retentionMs: number) {
    if (!(retentionMs > 0)) throw new Error('FileStore: retentionMs must be positive');
    this.#db = db;
    this.#clock = clock;
    this.#retentionMs = retentionMs;
  }

  get retentionMs(): number {
    return this.#retentionMs;
  }

  async create(tenant: string, file: NewFile): Promise<FileObject> {
    const now = this.#clock.now();
    const insert = insertFile(tenant, file, now, this.#retentionMs);
    await this.#guarded(() => this.#db.query(insert.sql, insert.params));
    if (now - this.#purgedAt >= PURGE_EVERY_MS) {
      this.#purgedAt = now;
      await this.#db.query('DELETE FROM files WHERE expires_at <= $1', [now]).catch(() => {});
    }
    return insert.object;
  }

  /** The tenant's file `id`, or null (another tenant's, deleted, expired, never made). */
  async get(tenant: string, id: string): Promise<FileObject | null> {
    const rows = await this.#guarded(() => this.#db.query<FileRow>('SELECT id, purpose, filename, bytes, created_at, expires_at FROM files WHERE id = $1 AND tenant = $2 AND expires_at > $3', [id, tenant, this.#clock.now()]));
    return rows[0] === undefined ? null : toObject(rows[0]);
  }

  /** The tenant's file with its bytes, or null. */
  async content(tenant: string, id: string): Promise<{ file: FileObject; content: Buffer } | null> {
    const rows = await this.#guarded(() =>
      this.#db.query<FileRow & { content: string }>('SELECT id, purpose, filename, bytes, created_at, expires_at, content FROM files WHERE id = $1 AND tenant = $2 AND expires_at > $3', [id, tenant, this.#clock.now()]),
    );
    const row = rows[0];
    return row === undefined ? null : { file: toObject(row), content: Buffer.from(row.content, 'base64') };
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const rows = await this.#guarded(() => this.#db.query<{ id: string }>('DELETE FROM files WHERE id = $1 AND tenant = $2 AND expires_at > $3 RETURNING id', [id, tenant, this.#clock.now()]));
    return rows.length > 0;
  }

  async list(tenant: string, q: FileListQuery): Promise<Page<FileObject>> {
    const params: unknown[] = [tenant, this.#clock.now()];
    let where = 'tenant = $1 AND expires_at > $2';
    if (q.purpose !== null) {
      params.push(q.purpose);
      where += ` AND purpose = $${params.length}`;
    }
    if (q.after !== null) {
      params.push(q.after);
      where += ` AND id ${q.order === 'desc' ? '<' : '>'} $${params.length}`;
    }
    params.push(q.limit + 1);
    const rows = await this.#guarded(() =>
      this.#db.query<FileRow>(`SELECT id, purpose, filename, bytes, created_at, expires_at FROM files WHERE ${where} ORDER BY id ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${params.length}`, params),
    );
    const data = rows.slice(0, q.limit).map(toObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > q.limit };
  }

  async #guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: 'Files cannot be read or written right now.', cause: err });
    }
  }
}
