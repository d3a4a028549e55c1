import type { Database } from './types.js';

/**
 * Schema migrations, applied in order at start, each once, inside a transaction. Append
 * new ones; never edit one that has shipped. `postgres` is what PostgreSQL runs; `sqlite`
 * what the embedded database runs. SQLite started at migration 3's shape (it replaced
 * PGlite then, with no data to carry over), so its earlier steps already build that shape
 * and its migration 3 has nothing to do.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly postgres: string;
  /** Empty: nothing to do on SQLite. */
  readonly sqlite: string;
}

/** ISO 8601 UTC with milliseconds, as `Date.toISOString()` writes it: SQLite keeps times as this text. */
const SQLITE_NOW = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'api keys',
    postgres: `
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
    // JSON kept as text (models, limits, budget, metadata); times as ISO text.
    sqlite: `
      CREATE TABLE api_keys (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        key_hash    TEXT NOT NULL UNIQUE,
        key_prefix  TEXT NOT NULL,
        user_id     TEXT,
        tier        TEXT NOT NULL,
        models      TEXT,
        limits      TEXT,
        budget      TEXT,
        metadata    TEXT NOT NULL DEFAULT '{}',
        expires_at  TEXT,
        created_at  TEXT NOT NULL DEFAULT ${SQLITE_NOW},
        revoked_at  TEXT
      ) STRICT;
      CREATE INDEX api_keys_user ON api_keys (user_id);
    `,
  },
  {
    id: 2,
    name: 'usage records',
    postgres: `
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
    // STRICT: a value of the wrong type is refused, as PostgreSQL refuses it. Booleans are 0/1.
    // WITHOUT ROWID: the rows live in the primary key's own tree, one tree fewer to write per
    // record (13.5 -> 11.9 µs CPU per insert, measured with the records of bench/embedded-db.mjs).
    sqlite: `
      CREATE TABLE usage_records (
        id                    TEXT PRIMARY KEY,
        request_id            TEXT NOT NULL,
        started_at            TEXT NOT NULL,
        principal             TEXT NOT NULL,
        key_id                TEXT,
        user_id               TEXT,
        tier                  TEXT NOT NULL,
        route                 TEXT NOT NULL,
        endpoint              TEXT NOT NULL,
        stream                INTEGER NOT NULL,
        provider              TEXT,
        model                 TEXT NOT NULL,
        target_model          TEXT,
        fallback_model        TEXT,
        status                INTEGER NOT NULL,
        error_code            TEXT,
        client_gone           INTEGER NOT NULL,
        latency_ms            REAL NOT NULL,
        ttfb_ms               REAL,
        upstream_ms           REAL,
        prompt_tokens         INTEGER NOT NULL,
        completion_tokens     INTEGER NOT NULL,
        cached_prompt_tokens  INTEGER NOT NULL,
        estimated             INTEGER NOT NULL,
        cost_usd              REAL NOT NULL,
        cache                 TEXT,
        retries               INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX usage_records_started ON usage_records (started_at, id);
    `,
  },
  {
    // Issue 15: the client's x-request-id was the primary key, so a client could make the
    // gateway drop its own (or another tenant's) records by reusing an id. Records now have
    // an id the gateway makes; the client's id stays as an attribute. Existing records keep
    // their request id as their id (it was unique).
    id: 3,
    name: 'usage record ids made by the gateway',
    postgres: `
      ALTER TABLE usage_records ADD COLUMN id text;
      UPDATE usage_records SET id = request_id;
      ALTER TABLE usage_records ALTER COLUMN id SET NOT NULL;
      ALTER TABLE usage_records DROP CONSTRAINT usage_records_pkey;
      ALTER TABLE usage_records ADD PRIMARY KEY (id);
      DROP INDEX usage_records_started;
      CREATE INDEX usage_records_started ON usage_records (started_at, id);
    `,
    sqlite: '',
  },
  {
    // Issue 18: responses kept for the Responses API (`store`, `previous_response_id`, GET and
    // DELETE /v1/responses/{id}), per tenant, until `expires_at` (ms since the epoch).
    id: 4,
    name: 'stored responses',
    postgres: `
      CREATE TABLE stored_responses (
        id           text PRIMARY KEY,
        tenant       text NOT NULL,
        created_at   bigint NOT NULL,
        expires_at   bigint NOT NULL,
        response     text NOT NULL,
        input_items  text NOT NULL,
        messages     text NOT NULL
      );
      CREATE INDEX stored_responses_expires ON stored_responses (expires_at);
    `,
    sqlite: `
      CREATE TABLE stored_responses (
        id           TEXT PRIMARY KEY,
        tenant       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        response     TEXT NOT NULL,
        input_items  TEXT NOT NULL,
        messages     TEXT NOT NULL
      ) STRICT;
      CREATE INDEX stored_responses_expires ON stored_responses (expires_at);
    `,
  },
  {
    // Issue 18: prompt-cache writes (5-minute and 1-hour) and reasoning tokens, priced apart.
    // Id 5 whatever else lands first: the runner applies every id it has not applied, in list
    // order, so a gap (or an id added below it later) is fine. Records stored before count 0.
    id: 5,
    name: 'usage cache writes and reasoning',
    postgres: `
      ALTER TABLE usage_records
        ADD COLUMN cache_write_tokens     integer NOT NULL DEFAULT 0,
        ADD COLUMN cache_write_1h_tokens  integer NOT NULL DEFAULT 0,
        ADD COLUMN reasoning_tokens       integer NOT NULL DEFAULT 0;
    `,
    sqlite: `
      ALTER TABLE usage_records ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_records ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_records ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    // Issue 20: every admin change, who made it and from where. Ids are UUIDv7 (time-ordered):
    // the audit API pages newest first by id. (Ids 4 and 5 belong to issue 18's migrations.)
    id: 6,
    name: 'admin audit log',
    postgres: `
      CREATE TABLE admin_audit (
        id          text PRIMARY KEY,
        at          timestamptz NOT NULL,
        actor       text NOT NULL,
        role        text NOT NULL,
        method      text NOT NULL,
        action      text NOT NULL,
        target      text,
        status      integer NOT NULL,
        ip          text NOT NULL,
        request_id  text NOT NULL,
        detail      text
      );
    `,
    sqlite: `
      CREATE TABLE admin_audit (
        id          TEXT PRIMARY KEY,
        at          TEXT NOT NULL,
        actor       TEXT NOT NULL,
        role        TEXT NOT NULL,
        method      TEXT NOT NULL,
        action      TEXT NOT NULL,
        target      TEXT,
        status      INTEGER NOT NULL,
        ip          TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        detail      TEXT
      ) STRICT;
    `,
  },
  {
    // Issue 21: the Files API (content kept as base64 text, so both databases store any bytes
    // the same way) and the Batch API: a batch row, one row per input line with its lease and
    // result (docs/batches.md), and usage records marked with the batch they ran for.
    id: 7,
    name: 'files and batches',
    postgres: `
      CREATE TABLE files (
        id          text PRIMARY KEY,
        tenant      text NOT NULL,
        purpose     text NOT NULL,
        filename    text NOT NULL,
        bytes       bigint NOT NULL,
        created_at  bigint NOT NULL,
        expires_at  bigint NOT NULL,
        content     text NOT NULL
      );
      CREATE INDEX files_tenant ON files (tenant, created_at);
      CREATE INDEX files_expires ON files (expires_at);
      CREATE TABLE batches (
        id                 text PRIMARY KEY,
        tenant             text NOT NULL,
        principal          text NOT NULL,
        endpoint           text NOT NULL,
        input_file_id      text NOT NULL,
        completion_window  text NOT NULL,
        status             text NOT NULL,
        metadata           text,
        errors             text,
        output_file_id     text,
        error_file_id      text,
        total              integer NOT NULL,
        created_at         bigint NOT NULL,
        expires_at         bigint NOT NULL,
        in_progress_at     bigint,
        finalizing_at      bigint,
        completed_at       bigint,
        failed_at          bigint,
        expired_at         bigint,
        cancelling_at      bigint,
        cancelled_at       bigint
      );
      CREATE INDEX batches_tenant ON batches (tenant, id);
      CREATE INDEX batches_status ON batches (status);
      CREATE TABLE batch_lines (
        id             text PRIMARY KEY,
        batch_id       text NOT NULL,
        line           integer NOT NULL,
        custom_id      text NOT NULL,
        body           text NOT NULL,
        state          text NOT NULL,
        attempts       integer NOT NULL DEFAULT 0,
        lease_owner    text,
        lease_expires  bigint NOT NULL DEFAULT 0,
        ok             integer,
        result         text
      );
      CREATE INDEX batch_lines_work ON batch_lines (state, lease_expires);
      CREATE INDEX batch_lines_batch ON batch_lines (batch_id, state, line);
      ALTER TABLE usage_records ADD COLUMN batch_id text;
    `,
    sqlite: `
      CREATE TABLE files (
        id          TEXT PRIMARY KEY,
        tenant      TEXT NOT NULL,
        purpose     TEXT NOT NULL,
        filename    TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        content     TEXT NOT NULL
      ) STRICT;
      CREATE INDEX files_tenant ON files (tenant, created_at);
      CREATE INDEX files_expires ON files (expires_at);
      CREATE TABLE batches (
        id                 TEXT PRIMARY KEY,
        tenant             TEXT NOT NULL,
        principal          TEXT NOT NULL,
        endpoint           TEXT NOT NULL,
        input_file_id      TEXT NOT NULL,
        completion_window  TEXT NOT NULL,
        status             TEXT NOT NULL,
        metadata           TEXT,
        errors             TEXT,
        output_file_id     TEXT,
        error_file_id      TEXT,
        total              INTEGER NOT NULL,
        created_at         INTEGER NOT NULL,
        expires_at         INTEGER NOT NULL,
        in_progress_at     INTEGER,
        finalizing_at      INTEGER,
        completed_at       INTEGER,
        failed_at          INTEGER,
        expired_at         INTEGER,
        cancelling_at      INTEGER,
        cancelled_at       INTEGER
      ) STRICT;
      CREATE INDEX batches_tenant ON batches (tenant, id);
      CREATE INDEX batches_status ON batches (status);
      CREATE TABLE batch_lines (
        id             TEXT PRIMARY KEY,
        batch_id       TEXT NOT NULL,
        line           INTEGER NOT NULL,
        custom_id      TEXT NOT NULL,
        body           TEXT NOT NULL,
        state          TEXT NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        lease_owner    TEXT,
        lease_expires  INTEGER NOT NULL DEFAULT 0,
        ok             INTEGER,
        result         TEXT
      ) STRICT;
      CREATE INDEX batch_lines_work ON batch_lines (state, lease_expires);
      CREATE INDEX batch_lines_batch ON batch_lines (batch_id, state, line);
      ALTER TABLE usage_records ADD COLUMN batch_id TEXT;
    `,
  },
  {
    // Issue 21: batches passed through to a provider's own batch API (src/batches/provider-store.ts).
    id: 8,
    name: 'provider batches',
    postgres: `
      CREATE TABLE provider_batches (
        batch_id           text PRIMARY KEY,
        provider           text NOT NULL,
        route              text NOT NULL,
        model              text NOT NULL,
        target_model       text NOT NULL,
        price              text,
        state              text NOT NULL,
        provider_batch_id  text,
        provider_file_id   text,
        provider_status    text,
        submitted_at       bigint,
        cancel_sent        integer NOT NULL DEFAULT 0,
        lease_owner        text,
        lease_expires      bigint NOT NULL DEFAULT 0,
        next_poll_at       bigint NOT NULL DEFAULT 0,
        error              text
      );
      CREATE INDEX provider_batches_work ON provider_batches (state, next_poll_at);
    `,
    sqlite: `
      CREATE TABLE provider_batches (
        batch_id           TEXT PRIMARY KEY,
        provider           TEXT NOT NULL,
        route              TEXT NOT NULL,
        model              TEXT NOT NULL,
        target_model       TEXT NOT NULL,
        price              TEXT,
        state              TEXT NOT NULL,
        provider_batch_id  TEXT,
        provider_file_id   TEXT,
        provider_status    TEXT,
        submitted_at       INTEGER,
        cancel_sent        INTEGER NOT NULL DEFAULT 0,
        lease_owner        TEXT,
        lease_expires      INTEGER NOT NULL DEFAULT 0,
        next_poll_at       INTEGER NOT NULL DEFAULT 0,
        error              TEXT
      ) STRICT;
      CREATE INDEX provider_batches_work ON provider_batches (state, next_poll_at);
    `,
  },
  {
    // Issue 18: a stored response keeps its conversation as Responses API items (earlier turns,
    // its input, its output as the provider wrote it), so a conversation can continue on a
    // provider that takes the Responses API itself as well as on a translated one. Rows before
    // it keep their chat `messages` (read as before; new rows write '[]' there).
    id: 9,
    name: 'stored response items',
    postgres: `ALTER TABLE stored_responses ADD COLUMN items text;`,
    sqlite: `ALTER TABLE stored_responses ADD COLUMN items TEXT;`,
  },
  {
    // A stored response keeps its own turn only (its input and output items) and names the
    // response it continues: a conversation of n turns stores n turns, not n²/2 (rows before
    // this kept every earlier turn again). `own_items` 1: `items` is this turn alone, the rest
    // is found by following `previous_id`; 0: a row before this one, whose items (or messages)
    // are the whole conversation. `deleted` 1: deleted by its client but still holding a turn
    // that later responses continue (see src/db/responses.ts).
    id: 10,
    name: 'stored response chains',
    postgres: `
      ALTER TABLE stored_responses ADD COLUMN previous_id text;
      ALTER TABLE stored_responses ADD COLUMN own_items integer NOT NULL DEFAULT 0;
      ALTER TABLE stored_responses ADD COLUMN deleted integer NOT NULL DEFAULT 0;
      CREATE INDEX stored_responses_previous ON stored_responses (previous_id) WHERE previous_id IS NOT NULL;
    `,
    sqlite: `
      ALTER TABLE stored_responses ADD COLUMN previous_id TEXT;
      ALTER TABLE stored_responses ADD COLUMN own_items INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE stored_responses ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX stored_responses_previous ON stored_responses (previous_id) WHERE previous_id IS NOT NULL;
    `,
  },
];

/** An arbitrary constant naming Sluice's migration lock among PostgreSQL's advisory locks. */
const MIGRATION_LOCK = 0x51_11_ce;

const LEDGER = {
  postgres: 'CREATE TABLE IF NOT EXISTS sluice_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
  sqlite: `CREATE TABLE IF NOT EXISTS sluice_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT ${SQLITE_NOW}) STRICT`,
} as const;

/**
 * Brings the schema up to date; resolves with the ids it applied. Safe to run from several
 * instances at once. `list` is the migrations to apply (the tests pass their own).
 */
export async function migrate(db: Database, list: readonly Migration[] = migrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    // One instance migrates at a time; the others wait here and then find nothing to do. The
    // lock comes first: concurrent CREATE TABLE IF NOT EXISTS collide in PostgreSQL's catalog.
    // (SQLite has one process per data folder, and its transaction is exclusive already.)
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(LEDGER[db.kind]);
    const done = new Set((await tx.query<{ id: number }>('SELECT id FROM sluice_migrations')).map((r) => r.id));
    const applied: number[] = [];
    for (const m of list) {
      if (done.has(m.id)) continue;
      const sql = m[db.kind];
      if (sql !== '') await tx.exec(sql);
      await tx.query('INSERT INTO sluice_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.id);
    }
    return applied;
  });
}
