import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase } from '../../src/db/index.js';
import { migrations } from '../../src/db/migrations.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { insertUsage } from '../../src/accounting/store.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { usageFixture } from './fixture.js';

let pg: PostgresServer;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

test('migration 3 upgrades a PostgreSQL database of an earlier version: stored records keep their request id as their id, and new records no longer collide on it', async () => {
  // The database as the previous version left it: migrations 1 and 2, records keyed by request id.
  const old = new PostgresDatabase({ url: pg.url, poolSize: 1, statementTimeoutMs: 5_000 });
  await old.exec('CREATE TABLE sluice_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const m of migrations.filter((m) => m.id < 3)) {
    await old.exec(m.postgres);
    await old.query('INSERT INTO sluice_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
  }
  const [a, b] = usageFixture() as [ReturnType<typeof usageFixture>[number], ReturnType<typeof usageFixture>[number]];
  const { id: _a, ...oldA } = a;
  await old.query(`INSERT INTO usage_records SELECT * FROM json_populate_record(NULL::usage_records, $1::json)`, [JSON.stringify({ ...oldA, request_id: 'client-id' })]);
  await old.close();

  const db = await openDatabase({ url: pg.url, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
  try {
    assert.deepEqual(
      (await db.query<{ id: number }>('SELECT id FROM sluice_migrations ORDER BY id')).map((r) => r.id),
      migrations.map((m) => m.id),
    );
    assert.deepEqual(await db.query("SELECT id, request_id FROM usage_records"), [{ id: 'client-id', request_id: 'client-id' }]);
    // The same client id again, in a record with an id of its own: stored beside the first.
    assert.equal(await insertUsage(db, [JSON.stringify({ ...b, request_id: 'client-id' })]), 1);
    assert.equal((await db.query("SELECT id FROM usage_records WHERE request_id = 'client-id'")).length, 2);
  } finally {
    await db.close();
  }
});
