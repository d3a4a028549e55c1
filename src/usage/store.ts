import type { Database } from '../db/index.js';
import type { UsageRecord } from './record.js';

/** The columns of `usage_records` with their PostgreSQL types, in the record's field order. */
export const COLUMNS: readonly (readonly [keyof UsageRecord, string])[] = [
  ['id', 'text'],
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

/** Columns SQLite keeps as 0/1 and the usage API shows as booleans. */
export const BOOLEAN_COLUMNS: readonly string[] = COLUMNS.filter(([, t]) => t === 'boolean').map(([n]) => n);

const names = COLUMNS.map(([n]) => n).join(', ');
/**
 * A record spooled before record ids existed (issue 15) has none: its request id, unique
 * then, becomes its id, as migration 3 did for the records already stored.
 */
const selected = (get: (column: string) => string): string => COLUMNS.map(([n]) => (n === 'id' ? `COALESCE(${get('id')}, ${get('request_id')})` : get(n))).join(', ');

/**
 * A whole batch is one parameter, a JSON array of records, expanded by the database: no
 * limit on parameters per statement, and the spooled text goes in as it is. A record
 * already stored (a batch replayed after a crash or an outage) is skipped by its id, so a
 * replay stores each request exactly once.
 *
 * PostgreSQL: json_to_recordset (json, not jsonb: jsonb would build a binary copy of the
 * whole batch first, issue #7). SQLite: json_each and `->>` per field; its STRICT table
 * refuses a field of the wrong type as PostgreSQL does.
 */
const INSERT = {
  postgres: `
    WITH inserted AS (
      INSERT INTO usage_records (${names})
      SELECT ${selected((n) => n)} FROM json_to_recordset($1::json) AS r(${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    SELECT CAST(count(*) AS integer) AS n FROM inserted`,
  // "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
  sqlite: `
    INSERT INTO usage_records (${names})
    SELECT ${selected((n) => `value ->> '${n}'`)} FROM json_each($1) WHERE true
    ON CONFLICT (id) DO NOTHING
    RETURNING 1 AS n`,
} as const;

/** Stores records given as their JSON texts; resolves with how many were new. */
export async function insertUsage(db: Database, jsonRecords: readonly string[]): Promise<number> {
  const rows = await db.query<{ n: number }>(INSERT[db.kind], [`[${jsonRecords.join(',')}]`]);
  return db.kind === 'postgres' ? (rows[0]?.n ?? 0) : rows.length;
}

/** Deletes records that started before `before` (retention); resolves with how many went. */
export async function pruneUsage(db: Database, before: Date): Promise<number> {
  if (db.kind === 'postgres') {
    const rows = await db.query<{ n: number }>('WITH gone AS (DELETE FROM usage_records WHERE started_at < $1 RETURNING 1) SELECT CAST(count(*) AS integer) AS n FROM gone', [before.toISOString()]);
    return rows[0]?.n ?? 0;
  }
  // changes() rather than a row per deleted record back across the thread.
  return db.transaction(async (tx) => {
    await tx.query('DELETE FROM usage_records WHERE started_at < $1', [before.toISOString()]);
    return (await tx.query<{ n: number }>('SELECT changes() AS n'))[0]?.n ?? 0;
  });
}
