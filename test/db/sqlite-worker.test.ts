import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database } from '../../src/db/index.js';
import { SqliteThreadDatabase } from '../../src/db/sqlite-worker.js';

const options = { url: null, poolSize: 1, statementTimeoutMs: 5_000 };

describe('embedded SQLite on its own thread', () => {
  let db: Database;
  before(async () => {
    db = await openDatabase({ ...options, dataDir: null });
    await db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, at TEXT, n INTEGER, ok INTEGER, x REAL, doc TEXT) STRICT');
  });
  after(() => db.close());

  test('parameters go in as SQLite keeps them ($n in any order, booleans 0/1, times ISO text, objects JSON) and rows come back', async () => {
    const at = new Date('2026-11-22T10:00:00.000Z');
    await db.query('INSERT INTO t (doc, id, at, n, ok, x) VALUES ($6, $1, $2, $3, $4, $5)', ['a', at, 7, true, 1.5, { x: [1, 'y'] }]);
    const rows = await db.query('SELECT * FROM t WHERE id = $1 AND n = $2 AND id = $1', ['a', 7]);
    assert.deepEqual(rows, [{ id: 'a', at: '2026-11-22T10:00:00.000Z', n: 7, ok: 1, x: 1.5, doc: '{"x":[1,"y"]}' }]);
  });

  test("a failed statement rejects with PostgreSQL's SQLSTATE for it, and the thread goes on", async () => {
    await db.query('INSERT INTO t (id) VALUES ($1)', ['dup']);
    await assert.rejects(db.query('INSERT INTO t (id) VALUES ($1)', ['dup']), (err: Error & { code?: string; sqliteCode?: string }) => {
      assert.equal(err.code, '23505');
      assert.equal(err.sqliteCode, 'SQLITE_CONSTRAINT_PRIMARYKEY');
      return true;
    });
    await assert.rejects(db.query('INSERT INTO t (id, n) VALUES ($1, $2)', ['typed', 'seven']), { code: '22P02' });
    await assert.rejects(db.query('SELECT nonsense FROM t'), (err: Error & { code?: string }) => err.code === undefined && /no such column/.test(err.message));
    assert.deepEqual(await db.query('SELECT 1 AS n'), [{ n: 1 }]);
  });

  test('insertJson stores a batch in one transaction: a bad line rolls the whole batch back', async () => {
    const sql = 'INSERT INTO t (id, n, ok) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING';
    assert.equal(await db.insertJson!(sql, ['id', 'n', 'ok'], ['{"id":"j1","n":1,"ok":true}', '{"id":"j2","n":2,"ok":false}', '{"id":"j1","n":9}']), 2);
    for (const bad of ['{"id":"j3"', '[1]', '{"id":"j3","n":"three"}']) {
      await assert.rejects(db.insertJson!(sql, ['id', 'n', 'ok'], ['{"id":"j4","n":4}', bad]), { code: '22P02' });
    }
    assert.deepEqual(await db.query("SELECT id, n, ok FROM t WHERE id LIKE 'j%' ORDER BY id"), [
      { id: 'j1', n: 1, ok: 1 },
      { id: 'j2', n: 2, ok: 0 },
    ]);
  });

  test('a transaction that throws rolls back, and statements outside it wait for its end', async () => {
    let outside: Promise<unknown> | null = null;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES ($1)', ['in-tx']);
        // Issued while the transaction is open: it must not see (or join) the transaction.
        outside = db.query('SELECT count(*) AS c FROM t WHERE id = $1', ['in-tx']);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await outside, [{ c: 0 }]);
    assert.equal(await db.transaction(async (tx) => (await tx.query('INSERT INTO t (id) VALUES ($1)', ['kept']), 'done')), 'done');
    assert.equal((await db.query('SELECT id FROM t WHERE id = $1', ['kept'])).length, 1);
  });

  test('statements run in the order they were issued', async () => {
    await db.exec('CREATE TABLE seq (i INTEGER)');
    await Promise.all(Array.from({ length: 50 }, (_, i) => db.query('INSERT INTO seq VALUES ($1)', [i])));
    const rows = await db.query<{ i: number }>('SELECT i FROM seq');
    assert.deepEqual(
      rows.map((r) => r.i),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('on Linux the database thread runs at a lower priority (nice +10) than the gateway', { skip: process.platform !== 'linux' }, () => {
    const nice = (task: string): number => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const own = nice(String(process.pid));
    const tasks = readdirSync('/proc/self/task').map(nice);
    assert.ok(tasks.some((n) => n === Math.min(19, own + 10)), `nice values ${tasks.join(',')}`);
  });
});

test('a data folder survives a restart (one file, WAL); a closed database refuses further statements', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
  try {
    const first = await openDatabase({ ...options, dataDir: dir });
    await first.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('there')");
    assert.deepEqual(await first.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
    await first.close();
    await assert.rejects(first.query('SELECT 1'), /embedded database stopped/);
    assert.deepEqual(readdirSync(dir), ['sluice.db'], 'the WAL is checkpointed into the file at close');
    const second = await openDatabase({ ...options, dataDir: dir });
    assert.deepEqual(await second.query('SELECT v FROM kept'), [{ v: 'there' }]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data folder SQLite cannot open fails the open, and the thread is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-bad-'));
  try {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    await assert.rejects(SqliteThreadDatabase.open(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
