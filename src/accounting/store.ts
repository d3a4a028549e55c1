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
  ['cache_write_tokens', 'integer'],
  ['cache_write_1h_tokens', 'integer'],
  ['reasoning_tokens', 'integer'],
  ['batch_id', 'text'],
];

/** Columns a record spooled before they existed (issue 18) lacks: stored as 0, not refused as null. */
const ZERO_WHEN_ABSENT: ReadonlySet<string> = new Set(['cache_write_tokens', 'cache_write_1h_tokens', 'reasoning_tokens']);

/** Columns SQLite keeps as 0/1 and the usage API shows as booleans. */
export const BOOLEAN_COLUMNS: readonly string[] = COLUMNS.filter(([, t]) => t === 'boolean').map(([n]) => n);

const names = COLUMNS.map(([n]) => n).join(', ');
// A record spooled before record ids existed (issue 15) has none: its request id, unique
// then, becomes its id (COALESCE below), as migration 3 did for the records already stored.

/**
 * PostgreSQL: a whole batch is one parameter, a JSON array of records, expanded by
 * json_to_recordset: no limit on parameters per statement, and the spooled text goes in as
 * it is (json, not jsonb: jsonb would build a binary copy of the whole batch first, issue
 * #7). A record already stored (a batch replayed after a crash or an outage) is skipped by
 * its id, so a replay stores each request exactly once.
 */
const INSERT_POSTGRES = `
  WITH inserted AS (
    INSERT INTO usage_records (${names})
    SELECT ${COLUMNS.map(([n]) => (n === 'id' ? 'COALESCE(id, request_id)' : ZERO_WHEN_ABSENT.has(n) ? `COALESCE(${n}, 0)` : n)).join(', ')}
    FROM json_to_recordset($1::json) AS r(${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
  )
  SELECT CAST(count(*) AS integer) AS n FROM inserted`;

/**
 * SQLite: one prepared statement per record, parsed on the database's thread (see
 * `Database.insertJson`); `$i` is the i-th column, the same skip of stored ids. Its STRICT
 * table refuses a field of the wrong type as PostgreSQL does.
 */
const INSERT_SQLITE = `
  INSERT INTO usage_records (${names})
  VALUES (${COLUMNS.map(([n], i) => (n === 'id' ? `COALESCE($${i + 1}, $${COLUMNS.findIndex(([c]) => c === 'request_id') + 1})` : ZERO_WHEN_ABSENT.has(n) ? `COALESCE($${i + 1}, 0)` : `$${i + 1}`)).join(', ')})
  ON CONFLICT (id) DO NOTHING`;

const FIELDS = COLUMNS.map(([n]) => n);

/** Stores records given as their JSON texts; resolves with how many were new. */
export async function insertUsage(db: Database, jsonRecords: readonly string[]): Promise<number> {
  if (db.insertJson !== undefined) return db.insertJson(INSERT_SQLITE, FIELDS, jsonRecords);
  const rows = await db.query<{ n: number }>(INSERT_POSTGRES, [`[${jsonRecords.join(',')}]`]);
  return rows[0]?.n ?? 0;
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
