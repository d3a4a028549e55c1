/**
 * One contract for both databases: the same cases against embedded SQLite (a data folder
 * and memory) and a real PostgreSQL server, and every usage API query answered identically
 * by both from the same records.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database } from '../../src/db/index.js';
import { migrate, migrations } from '../../src/db/migrations.js';
import { FakeClock } from '../../src/lib/clock.js';
import { KeyRegistry } from '../../src/policies/identify/keys.js';
import { listUsage, summarizeUsage, type Bucket, type Dimension, type UsageFilter } from '../../src/accounting/queries.js';
import type { UsageRecord } from '../../src/accounting/record.js';
import { insertUsage, pruneUsage } from '../../src/accounting/store.js';
import { RequestContext } from '../../src/exchange/context.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { PriceBook } from '../../src/tokens/prices.js';
import { toUsageRecord } from '../../src/accounting/record.js';
import { summarize } from '../../src/exchange/summary.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { compiledRoute } from '../helpers/routes.js';
import { usageFixture } from './fixture.js';

const options = { poolSize: 2, statementTimeoutMs: 5_000 };
const NO_FILTER: UsageFilter = { from: null, to: null, where: {} };

interface Target {
  readonly name: string;
  open(): Promise<Database>;
  done(): Promise<void>;
}

function sqliteOnDisk(): Target {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-db-contract-'));
  return { name: 'SQLite (data folder)', open: () => openDatabase({ ...options, url: null, dataDir: join(dir, 'data') }), done: async () => rmSync(dir, { recursive: true, force: true }) };
}

function sqliteInMemory(): Target {
  return { name: 'SQLite (memory)', open: () => openDatabase({ ...options, url: null, dataDir: null }), done: async () => {} };
}

/** A fresh PostgreSQL database per target, on one server started for the whole file. */
let server: PostgresServer | null = null;
let databases = 0;
function postgres(): Target {
  let url = '';
  return {
    name: 'PostgreSQL',
    open: async () => {
      server ??= await startPostgres();
      if (url === '') {
        const name = `contract_${++databases}`;
        const admin = await openDatabase({ ...options, url: server.url, dataDir: null });
        await admin.exec(`CREATE DATABASE ${name}`);
        await admin.close();
        url = server.url.replace(/\/postgres$/, `/${name}`);
      }
      return openDatabase({ ...options, url, dataDir: null });
    },
    done: async () => {},
  };
}

after(async () => {
  await server?.stop();
});

const line = (r: UsageRecord): string => JSON.stringify(r);

for (const make of [sqliteOnDisk, sqliteInMemory, postgres]) {
  const target = make();
  describe(`database contract: ${target.name}`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db?.close();
      await target.done();
    });

    test('migrations: all applied once at open; running them again applies none', async () => {
      const ledger = await db.query<{ id: number }>('SELECT id FROM sluice_migrations ORDER BY id');
      assert.deepEqual(
        ledger.map((r) => r.id),
        migrations.map((m) => m.id),
      );
      assert.deepEqual(await migrate(db), []);
    });

    test('migrations: a gap in the ids is tolerated, and an id added into it later is applied then (issue 18: 5 may land before 4)', async () => {
      const ids = migrations.map((m) => m.id);
      assert.ok(ids.includes(5), 'migration 5 (usage cache writes and reasoning) is in the list');
      // A migration 4 arriving after 5 was applied, placed in the list before it.
      const four = { id: 4, name: 'a later arrival', postgres: 'CREATE TABLE gap_probe (id integer)', sqlite: 'CREATE TABLE gap_probe (id INTEGER) STRICT' };
      const withFour = [...migrations.filter((m) => m.id < 4), four, ...migrations.filter((m) => m.id > 4)];
      const had4 = ids.includes(4);
      assert.deepEqual(await migrate(db, withFour), had4 ? [] : [4]);
      if (!had4) {
        assert.deepEqual(await db.query('SELECT id FROM gap_probe'), []);
        await db.exec('DROP TABLE gap_probe');
        await db.query('DELETE FROM sluice_migrations WHERE id = 4');
      }
      assert.deepEqual(await migrate(db), []);
    });

    test('keys: create, look up, list, rotate, revoke', async () => {
      const clock = new FakeClock(Date.parse('2026-11-22T10:00:00.000Z'));
      const keys = new KeyRegistry([], db, clock, 60_000);
      const { key, info } = await keys.create({ name: 'k1', tier: 'pro', user: 'u1', models: ['gpt-4o', 'mock-*'], limits: { rpm: 5 }, metadata: { team: 'x', n: 2 }, expiresAt: '2027-01-01T00:00:00Z' });
      assert.equal(info.createdAt, '2026-11-22T10:00:00.000Z');
      assert.equal(info.expiresAt, '2027-01-01T00:00:00.000Z');
      assert.deepEqual(info.models, ['gpt-4o', 'mock-*']);
      assert.deepEqual(info.metadata, { team: 'x', n: 2 });
      assert.deepEqual(info.limits, { rpm: 5 });
      assert.equal(info.budget, null);
      const principal = await keys.lookup(key);
      assert.equal(principal?.keyId, info.id);
      assert.equal(principal?.user, 'u1');
      assert.deepEqual(principal?.models, ['gpt-4o', 'mock-*']);
      assert.equal(await keys.lookup(`${key}x`), null);

      const listed = await keys.list();
      assert.deepEqual(listed, [info]);

      const rotated = await keys.rotate(info.id);
      assert.ok(rotated !== null);
      assert.equal(await keys.lookup(key), null, 'the old value stops working');
      assert.equal((await keys.lookup(rotated.key))?.keyId, info.id);

      clock.advance(1_000);
      const revoked = await keys.revoke(info.id);
      assert.equal(revoked?.revokedAt, '2026-11-22T10:00:01.000Z');
      assert.equal(await keys.lookup(rotated.key), null);
      assert.equal(await keys.revoke(info.id), null, 'revoked once');
    });

    test('usage inserts are idempotent per record id, not per request id', async () => {
      const [a, b] = usageFixture().slice(0, 2) as [UsageRecord, UsageRecord];
      assert.equal(await insertUsage(db, [line(a), line(b)]), 2);
      assert.equal(await insertUsage(db, [line(a), line(b)]), 0, 'a replay stores nothing');
      assert.equal(await insertUsage(db, [line({ ...a, id: 'another-record', request_id: a.request_id })]), 1, "another record with the same client request id is kept");
      // A record spooled before record ids: its request id becomes its id.
      const { id: _id, ...old } = b;
      assert.equal(await insertUsage(db, [JSON.stringify({ ...old, request_id: 'spooled-before-ids' })]), 1);
      assert.equal(await insertUsage(db, [JSON.stringify({ ...old, request_id: 'spooled-before-ids' })]), 0);
      const ids = await db.query<{ id: string }>("SELECT id FROM usage_records WHERE request_id = 'spooled-before-ids'");
      assert.deepEqual(ids, [{ id: 'spooled-before-ids' }]);
      // A record spooled before the cache-write and reasoning columns (issue 18): stored with 0 for them.
      const { cache_write_tokens: _w, cache_write_1h_tokens: _w1h, reasoning_tokens: _r, ...before18 } = { ...a, id: 'spooled-before-18' };
      assert.equal(await insertUsage(db, [JSON.stringify(before18)]), 1);
      const [zeros] = await db.query("SELECT cache_write_tokens, cache_write_1h_tokens, reasoning_tokens FROM usage_records WHERE id = 'spooled-before-18'");
      assert.deepEqual(zeros, { cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 0 });
      const [written] = await db.query('SELECT cache_write_tokens, cache_write_1h_tokens, reasoning_tokens FROM usage_records WHERE id = $1', [a.id]);
      assert.deepEqual(written, { cache_write_tokens: a.cache_write_tokens, cache_write_1h_tokens: a.cache_write_1h_tokens, reasoning_tokens: a.reasoning_tokens });
      await db.query('DELETE FROM usage_records');
    });

    test('a record the database cannot take is refused with a data (22) or integrity (23) SQLSTATE class', async () => {
      const [a] = usageFixture() as [UsageRecord];
      const refusals = ['{"id": "torn', JSON.stringify({ ...a, id: 'wrong-type', status: 'two hundred' }), JSON.stringify({ ...a, id: 'no-model', model: null })];
      for (const bad of refusals) {
        await assert.rejects(insertUsage(db, [bad]), (err: { code?: unknown }) => {
          assert.match(String(err.code), /^2[23]/, bad);
          return true;
        });
      }
      assert.equal((await db.query('SELECT id FROM usage_records')).length, 0);
    });

    test('regression (issue 15): a served request whose text has a NUL or a lone surrogate still gets its record', async () => {
      const ctx = new RequestContext('req-\ud800-id', 'chat', { model: 'gpt-4o\u0000', messages: [] }, compiledRoute('r', ['*']), 0);
      ctx.status = 200;
      ctx.endedAt = 5;
      ctx.principal = { ...ANONYMOUS, id: 'jwt:sub\u0000ject', user: 'emoji 😀 kept' };
      const record = toUsageRecord(summarize(ctx), new PriceBook(), Date.parse('2026-11-22T10:00:00.000Z'), null);
      assert.equal(await insertUsage(db, [JSON.stringify(record)]), 1);
      const [row] = await db.query<{ model: string; request_id: string; route: string; principal: string; user_id: string }>('SELECT model, request_id, route, principal, user_id FROM usage_records WHERE id = $1', [record.id]);
      assert.deepEqual(row, { model: 'gpt-4o\ufffd', request_id: 'req-\ufffd-id', route: 'r', principal: 'jwt:sub\ufffdject', user_id: 'emoji 😀 kept' });
      await db.query('DELETE FROM usage_records');
    });

    test('retention deletes records older than the cut, and says how many', async () => {
      const records = usageFixture();
      await insertUsage(db, records.map(line));
      const cut = new Date('2026-11-21T00:00:00.000Z');
      const older = records.filter((r) => r.started_at < cut.toISOString()).length;
      assert.ok(older > 0);
      assert.equal(await pruneUsage(db, cut), older);
      assert.equal(await pruneUsage(db, cut), 0);
      await db.query('DELETE FROM usage_records');
    });
  });
}

/** Every page of the request log, following cursors. */
async function allPages(db: Database, filter: UsageFilter, limit: number): Promise<Record<string, unknown>[][]> {
  const pages: Record<string, unknown>[][] = [];
  let cursor: string | null = null;
  do {
    const after = cursor === null ? null : (await import('../../src/accounting/queries.js')).decodeCursor(cursor);
    const page: Awaited<ReturnType<typeof listUsage>> = await listUsage(db, filter, limit, after);
    pages.push(page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

describe('usage API queries answer identically on SQLite and PostgreSQL', () => {
  const records = usageFixture();
  let sqlite: Database;
  let pg: Database;
  before(async () => {
    sqlite = await sqliteInMemory().open();
    pg = await postgres().open();
    for (const db of [sqlite, pg]) assert.equal(await insertUsage(db, records.map(line)), records.length);
  });
  after(async () => {
    await sqlite?.close();
    await pg?.close();
  });

  const groupings: (readonly Dimension[])[] = [[], ['key'], ['model'], ['user', 'model'], ['provider'], ['tier', 'route']];
  const buckets: (Bucket | null)[] = [null, 'minute', 'hour', 'day'];
  const filters: UsageFilter[] = [
    NO_FILTER,
    { from: new Date('2026-11-21T00:00:00Z'), to: null, where: {} },
    { from: new Date('2026-11-20T06:00:00Z'), to: new Date('2026-11-22T06:00:00Z'), where: { model: 'gpt-4o' } },
    { from: null, to: null, where: { key: 'key:k2', provider: 'openai' } },
    { from: new Date('2030-01-01T00:00:00Z'), to: null, where: {} },
    { from: null, to: null, where: { tier: 'tie' } },
  ];

  test('summaries: every grouping, bucket and filter', async () => {
    for (const groupBy of groupings) {
      for (const bucket of buckets) {
        for (const filter of filters) {
          const [a, b] = await Promise.all([summarizeUsage(sqlite, groupBy, bucket, filter), summarizeUsage(pg, groupBy, bucket, filter)]);
          assert.deepEqual(a, b, JSON.stringify({ groupBy, bucket, filter }));
        }
      }
    }
  });

  test('summaries: the totals are those of the records', async () => {
    const [total] = await summarizeUsage(sqlite, [], null, NO_FILTER);
    assert.equal(total!.requests, records.length);
    assert.equal(total!.errors, records.filter((r) => r.status >= 400 || r.error_code !== null).length);
    assert.equal(total!.prompt_tokens, records.reduce((n, r) => n + r.prompt_tokens, 0));
    assert.equal(total!.cache_write_tokens, records.reduce((n, r) => n + r.cache_write_tokens, 0));
    assert.equal(total!.cache_write_1h_tokens, records.reduce((n, r) => n + r.cache_write_1h_tokens, 0));
    assert.equal(total!.reasoning_tokens, records.reduce((n, r) => n + r.reasoning_tokens, 0));
    assert.ok((total!.cache_write_tokens as number) > 0 && (total!.cache_write_1h_tokens as number) > 0 && (total!.reasoning_tokens as number) > 0);
    assert.equal(total!.estimated, records.filter((r) => r.estimated).length);
    assert.equal(total!.cache_hits, records.filter((r) => r.cache === 'hit' || r.cache === 'coalesced').length);
    const days = await summarizeUsage(sqlite, [], 'day', NO_FILTER);
    assert.deepEqual(
      days.map((d) => d.bucket),
      ['2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z', '2026-11-22T00:00:00Z'],
    );
  });

  test('the request log: same pages, newest first, each record once, with ties on started_at', async () => {
    for (const filter of filters) {
      for (const limit of [1, 3, 7, 100]) {
        const [a, b] = await Promise.all([allPages(sqlite, filter, limit), allPages(pg, filter, limit)]);
        assert.deepEqual(a, b, JSON.stringify({ filter, limit }));
      }
    }
    const pages = await allPages(sqlite, NO_FILTER, 4);
    const rows = pages.flat();
    assert.equal(rows.length, records.length);
    assert.equal(new Set(rows.map((r) => r.id)).size, records.length);
    const expected = [...records].sort((x, y) => (x.started_at === y.started_at ? (x.id < y.id ? 1 : -1) : x.started_at < y.started_at ? 1 : -1));
    assert.deepEqual(
      rows.map((r) => r.id),
      expected.map((r) => r.id),
    );
    // The API's record is the stored record, booleans as booleans on both databases.
    assert.deepEqual(rows.find((r) => r.id === records[0]!.id), { ...records[0] });
  });
});
