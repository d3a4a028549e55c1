import type { Database } from '../db/index.js';
import type { UsageRecord } from './record.js';

/** The columns of `usage_records` (migration 2) with their types, in the record's field order. */
const COLUMNS: readonly (readonly [keyof UsageRecord, string])[] = [
  ['request_id', 'text'],
  ['started_at', 'timestamptz'],
  ['principal', 'text'],
  ['key_id', 'text'],
  ['user_id', 'text'],
  ['tier', 'text'],
  ['route', 'text'],
  ['endpoint', 'text'],
  ['stream', 'boolean'],
  ['provider', 'text'],
  ['model', 'text'],
  ['target_model', 'text'],
  ['fallback_model', 'text'],
  ['status', 'integer'],
  ['error_code', 'text'],
  ['client_gone', 'boolean'],
  ['latency_ms', 'double precision'],
  ['ttfb_ms', 'double precision'],
  ['upstream_ms', 'double precision'],
  ['prompt_tokens', 'integer'],
  ['completion_tokens', 'integer'],
  ['cached_prompt_tokens', 'integer'],
  ['estimated', 'boolean'],
  ['cost_usd', 'double precision'],
  ['cache', 'text'],
  ['retries', 'integer'],
];

const names = COLUMNS.map(([n]) => n).join(', ');

/**
 * A whole batch is one parameter, a JSON array of records, expanded by json_to_recordset:
 * no limit on parameters per statement, and the spooled text goes in as it is. (The json
 * form reads the text as it goes; jsonb would build a binary copy of the whole batch first:
 * 100 against 76 µs of CPU a record in embedded PGlite, issue #7.) A record
 * already stored (a batch replayed after a crash or an outage) is skipped, so a replay
 * stores each request exactly once.
 */
const INSERT = `
  WITH inserted AS (
    INSERT INTO usage_records (${names})
    SELECT ${names} FROM json_to_recordset($1::json) AS r(${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})
    ON CONFLICT (request_id) DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int AS n FROM inserted`;

/** Stores records given as their JSON texts; resolves with how many were new. */
export async function insertUsage(db: Database, jsonRecords: readonly string[]): Promise<number> {
  const rows = await db.query<{ n: number }>(INSERT, [`[${jsonRecords.join(',')}]`]);
  return rows[0]?.n ?? 0;
}

/** Deletes records that started before `before` (retention); resolves with how many went. */
export async function pruneUsage(db: Database, before: Date): Promise<number> {
  const rows = await db.query<{ n: number }>('WITH gone AS (DELETE FROM usage_records WHERE started_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [before.toISOString()]);
  return rows[0]?.n ?? 0;
}
