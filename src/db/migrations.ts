import type { Database } from './types.js';

/**
 * Schema migrations, applied in order at start, each once, inside a transaction. Append
 * new ones; never edit one that has shipped.
 */
export const migrations: readonly { readonly id: number; readonly name: string; readonly sql: string }[] = [
  {
    id: 1,
    name: 'api keys',
    sql: `
      CREATE TABLE api_keys (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        key_hash    text NOT NULL UNIQUE,
        key_prefix  text NOT NULL,
        user_id     text,
        tier        text NOT NULL,
        models      text[],
        limits      jsonb,
        budget      jsonb,
        metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
        expires_at  timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      );
      CREATE INDEX api_keys_user ON api_keys (user_id);
    `,
  },
  {
    id: 2,
    name: 'usage records',
    sql: `
      CREATE TABLE usage_records (
        request_id            text PRIMARY KEY,
        started_at            timestamptz NOT NULL,
        principal             text NOT NULL,
        key_id                text,
        user_id               text,
        tier                  text NOT NULL,
        route                 text NOT NULL,
        endpoint              text NOT NULL,
        stream                boolean NOT NULL,
        provider              text,
        model                 text NOT NULL,
        target_model          text,
        fallback_model        text,
        status                integer NOT NULL,
        error_code            text,
        client_gone           boolean NOT NULL,
        latency_ms            double precision NOT NULL,
        ttfb_ms               double precision,
        upstream_ms           double precision,
        prompt_tokens         integer NOT NULL,
        completion_tokens     integer NOT NULL,
        cached_prompt_tokens  integer NOT NULL,
        estimated             boolean NOT NULL,
        cost_usd              double precision NOT NULL,
        cache                 text,
        retries               integer NOT NULL
      );
      CREATE INDEX usage_records_started ON usage_records (started_at, request_id);
    `,
  },
];

/** An arbitrary constant naming Sluice's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 0x51_11_ce;

/** Brings the schema up to date. Safe to run from several instances at once. */
export async function migrate(db: Database): Promise<number[]> {
  return db.transaction(async (tx) => {
    // One instance migrates at a time; the others wait here and then find nothing to do. The
    // lock comes first: concurrent CREATE TABLE IF NOT EXISTS collide in PostgreSQL's catalog.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query('CREATE TABLE IF NOT EXISTS sluice_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await tx.query<{ id: number }>('SELECT id FROM sluice_migrations')).map((r) => r.id));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO sluice_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.id);
    }
    return applied;
  });
}
