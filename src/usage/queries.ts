import type { Reader } from '../db/replicas.js';

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

/** `WHERE` text and parameters for a filter; parameters are numbered from 1. */
function whereClause(filter: UsageFilter, params: unknown[]): string {
  const conditions: string[] = [];
  if (filter.from !== null) conditions.push(`started_at >= $${params.push(filter.from.toISOString())}`);
  if (filter.to !== null) conditions.push(`started_at < $${params.push(filter.to.toISOString())}`);
  for (const [dim, value] of Object.entries(filter.where)) conditions.push(`${DIMENSIONS[dim as Dimension]} = $${params.push(value)}`);
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/** Totals per group (dimensions, and a UTC time bucket when asked for), largest cost first within a bucket. */
export async function summarizeUsage(db: Reader, groupBy: readonly Dimension[], bucket: Bucket | null, filter: UsageFilter): Promise<SummaryRow[]> {
  const params: unknown[] = [];
  // Dimension and bucket names come from fixed lists, never from the client's text.
  const keys = groupBy.map((d) => `${DIMENSIONS[d]} AS "${d}"`);
  if (bucket !== null) keys.unshift(`to_char(date_trunc('${bucket}', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket`);
  const positions = keys.map((_, i) => String(i + 1));
  const sql = `
    SELECT ${keys.map((k) => `${k}, `).join('')}count(*)::int AS requests,
      (count(*) FILTER (WHERE status >= 400 OR error_code IS NOT NULL))::int AS errors,
      sum(prompt_tokens)::float8 AS prompt_tokens,
      sum(completion_tokens)::float8 AS completion_tokens,
      sum(cached_prompt_tokens)::float8 AS cached_prompt_tokens,
      (count(*) FILTER (WHERE estimated))::int AS estimated,
      sum(cost_usd)::float8 AS cost_usd,
      (count(*) FILTER (WHERE cache IN ('hit', 'coalesced')))::int AS cache_hits,
      avg(latency_ms)::float8 AS avg_latency_ms
    FROM usage_records ${whereClause(filter, params)}
    ${positions.length === 0 ? '' : `GROUP BY ${positions.join(', ')}`}
    ORDER BY ${bucket === null ? '' : '1, '}cost_usd DESC, requests DESC`;
  return db.query<SummaryRow>(sql, params);
}

/** A position in the request log, newest first: the last row of the previous page. */
export interface Cursor {
  readonly startedAt: string;
  readonly requestId: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.startedAt, c.requestId])).toString('base64url');
}

/** The cursor in a client's `cursor` parameter, or null when it is not one of ours. */
export function decodeCursor(text: string): Cursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) return { startedAt: v[0], requestId: v[1] };
  } catch {
    // not JSON: not a cursor
  }
  return null;
}

/**
 * One page of the request log, newest first, with the cursor of the next page (null on the
 * last). Keyset pagination on (started_at, request_id): stable while records arrive, and as
 * cheap on page 1,000 as on page 1.
 */
export async function listUsage(db: Reader, filter: UsageFilter, limit: number, after: Cursor | null): Promise<{ data: Record<string, unknown>[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  let where = whereClause(filter, params);
  if (after !== null) {
    const cond = `(started_at, request_id) < ($${params.push(after.startedAt)}::timestamptz, $${params.push(after.requestId)})`;
    where = where === '' ? `WHERE ${cond}` : `${where} AND ${cond}`;
  }
  const rows = await db.query(`SELECT * FROM usage_records ${where} ORDER BY started_at DESC, request_id DESC LIMIT $${params.push(limit + 1)}`, params);
  const data: Record<string, unknown>[] = rows.slice(0, limit).map((r) => ({ ...r, started_at: new Date(r.started_at as Date | string).toISOString() }));
  const last = data.at(-1);
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor({ startedAt: String(last.started_at), requestId: String(last.request_id) }) : null;
  return { data, nextCursor };
}
