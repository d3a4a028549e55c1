import type { Reader } from '../db/replicas.js';
import { BOOLEAN_COLUMNS, COLUMNS } from './store.js';

/** What the usage API groups and filters by, and the column behind each. */
export const DIMENSIONS = { key: 'principal', user: 'user_id', tier: 'tier', model: 'model', provider: 'provider', route: 'route' } as const;
export type Dimension = keyof typeof DIMENSIONS;
export type Bucket = 'minute' | 'hour' | 'day';

export interface UsageFilter {
  /** Inclusive lower bound of `started_at`. */
  readonly from: Date | null;
  /** Exclusive upper bound of `started_at`. */
  readonly to: Date | null;
  /** Exact matches on dimensions, e.g. `{ model: 'gpt-4o' }`. */
  readonly where: Readonly<Partial<Record<Dimension, string>>>;
}

export interface SummaryRow {
  readonly [dimension: string]: string | number | null;
}

/**
 * The start of a record's UTC time bucket as ISO text (`2026-11-22T10:00:00Z`). SQLite
 * keeps `started_at` as ISO text already, which strftime reads.
 */
const BUCKETS: Readonly<Record<Reader['kind'], (bucket: Bucket) => string>> = {
  postgres: (bucket) => `to_char(date_trunc('${bucket}', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
  sqlite: (bucket) => `strftime('${{ minute: '%Y-%m-%dT%H:%M:00Z', hour: '%Y-%m-%dT%H:00:00Z', day: '%Y-%m-%dT00:00:00Z' }[bucket]}', started_at)`,
};

/**
 * `WHERE` text and parameters for a filter; parameters are numbered from 1. Times are
 * passed as `toISOString()` text: PostgreSQL reads it as timestamptz, and SQLite compares
 * it with its ISO text, which sorts as time does in that one format.
 */
function whereClause(filter: UsageFilter, params: unknown[]): string {
  const conditions: string[] = [];
  if (filter.from !== null) conditions.push(`started_at >= $${params.push(filter.from.toISOString())}`);
  if (filter.to !== null) conditions.push(`started_at < $${params.push(filter.to.toISOString())}`);
  for (const [dim, value] of Object.entries(filter.where)) conditions.push(`${DIMENSIONS[dim as Dimension]} = $${params.push(value)}`);
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/**
 * Totals per group (dimensions, and a UTC time bucket when asked for), largest cost first
 * within a bucket. One statement for both databases (FILTER, NULLS LAST and CAST are
 * common to both); only the bucket expression differs.
 */
export async function summarizeUsage(db: Reader, groupBy: readonly Dimension[], bucket: Bucket | null, filter: UsageFilter): Promise<SummaryRow[]> {
  const params: unknown[] = [];
  // Dimension and bucket names come from fixed lists, never from the client's text.
  const keys = groupBy.map((d) => `${DIMENSIONS[d]} AS "${d}"`);
  if (bucket !== null) keys.unshift(`${BUCKETS[db.kind](bucket)} AS bucket`);
  const positions = keys.map((_, i) => String(i + 1));
  const sql = `
    SELECT ${keys.map((k) => `${k}, `).join('')}CAST(count(*) AS integer) AS requests,
      CAST(count(*) FILTER (WHERE status >= 400 OR error_code IS NOT NULL) AS integer) AS errors,
      CAST(sum(prompt_tokens) AS double precision) AS prompt_tokens,
      CAST(sum(completion_tokens) AS double precision) AS completion_tokens,
      CAST(sum(cached_prompt_tokens) AS double precision) AS cached_prompt_tokens,
      CAST(sum(cache_write_tokens) AS double precision) AS cache_write_tokens,
      CAST(sum(cache_write_1h_tokens) AS double precision) AS cache_write_1h_tokens,
      CAST(sum(reasoning_tokens) AS double precision) AS reasoning_tokens,
      CAST(count(*) FILTER (WHERE estimated) AS integer) AS estimated,
      CAST(sum(cost_usd) AS double precision) AS cost_usd,
      CAST(count(*) FILTER (WHERE cache IN ('hit', 'coalesced')) AS integer) AS cache_hits,
      CAST(avg(latency_ms) AS double precision) AS avg_latency_ms
    FROM usage_records ${whereClause(filter, params)}
    ${positions.length === 0 ? '' : `GROUP BY ${positions.join(', ')}`}
    ORDER BY ${bucket === null ? '' : '1, '}cost_usd DESC, requests DESC${positions.map((p) => `, ${p} NULLS LAST`).join('')}`;
  return db.query<SummaryRow>(sql, params);
}

/** A position in the request log, newest first: the last row of the previous page. */
export interface Cursor {
  /** ISO time as `toISOString()` writes it. */
  readonly startedAt: string;
  /** The record id (the gateway's, not the client's request id). */
  readonly id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.startedAt, c.id])).toString('base64url');
}

/** The cursor in a client's `cursor` parameter, or null when it is not one of ours. */
export function decodeCursor(text: string): Cursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      const at = Date.parse(v[0]);
      // Normalised: SQLite compares times as ISO text, in this one format.
      if (!Number.isNaN(at)) return { startedAt: new Date(at).toISOString(), id: v[1] };
    }
  } catch {
    // not JSON, or a time out of range: not a cursor
  }
  return null;
}

const SELECT_COLUMNS = COLUMNS.map(([n]) => n).join(', ');

/** A stored record as the API shows it, the same from both databases. */
function toApiRecord(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row, started_at: new Date(row.started_at as Date | string).toISOString() };
  for (const c of BOOLEAN_COLUMNS) out[c] = row[c] === true || row[c] === 1;
  return out;
}

/**
 * One page of the request log, newest first, with the cursor of the next page (null on the
 * last). Keyset pagination on (started_at, id): stable while records arrive, as cheap on
 * page 1,000 as on page 1, and the id is the gateway's, so no two records share a position
 * whatever request ids clients send.
 */
export async function listUsage(db: Reader, filter: UsageFilter, limit: number, after: Cursor | null): Promise<{ data: Record<string, unknown>[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  let where = whereClause(filter, params);
  if (after !== null) {
    const at = params.push(after.startedAt);
    const cond = `(started_at < $${at} OR (started_at = $${at} AND id < $${params.push(after.id)}))`;
    where = where === '' ? `WHERE ${cond}` : `${where} AND ${cond}`;
  }
  const rows = await db.query(`SELECT ${SELECT_COLUMNS} FROM usage_records ${where} ORDER BY started_at DESC, id DESC LIMIT $${params.push(limit + 1)}`, params);
  const data = rows.slice(0, limit).map(toApiRecord);
  const last = data.at(-1);
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor({ startedAt: String(last.started_at), id: String(last.id) }) : null;
  return { data, nextCursor };
}
