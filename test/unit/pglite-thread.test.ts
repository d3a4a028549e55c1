import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database } from '../../src/db/index.js';
import { PGliteThreadDatabase } from '../../src/db/pglite-worker.js';

const options = { url: null, poolSize: 1, statementTimeoutMs: 5_000 };

describe('embedded database on its own thread', () => {
  let db: Database;
  before(async () => {
    db = await openDatabase({ ...options, dataDir: null });
    await db.exec('CREATE TABLE t (id text PRIMARY KEY, at timestamptz, n integer, ok boolean, big bigint, doc jsonb)');
  });
  after(() => db.close());

  test('parameters and rows keep their types across the thread', async () => {
    const at = new Date('2026-11-22T10:00:00.000Z');
    await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)', ['a', at, 7, true, '9007199254740993', JSON.stringify({ x: [1, 'y'] })]);
    const rows = await db.query<{ id: string; at: Date; n: number; ok: boolean; big: bigint; doc: unknown }>('SELECT * FROM t WHERE id = $1', ['a']);
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.at instanceof Date);
    assert.equal(rows[0]!.at.toISOString(), at.toISOString());
    assert.equal(rows[0]!.n, 7);
    assert.equal(rows[0]!.ok, true);
    assert.equal(String(rows[0]!.big), '9007199254740993');
    assert.deepEqual(rows[0]!.doc, { x: [1, 'y'] });
  });

  test("a failed statement rejects with PostgreSQL's error code and message", async () => {
    await db.query('INSERT INTO t (id) VALUES ($1)', ['dup']);
    await assert.rejects(db.query('INSERT INTO t (id) VALUES ($1)', ['dup']), (err: Error & { code?: string }) => {
      assert.equal(err.code, '23505');
      assert.match(err.message, /duplicate key/);
      return true;
    });
    // The thread goes on serving after an error.
    assert.equal((await db.query<{ n: number }>('SELECT 1 AS n'))[0]!.n, 1);
  });

  test('a transaction that throws rolls back, and statements outside it wait for its end', async () => {
    let outside: Promise<unknown> | null = null;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES ($1)', ['in-tx']);
        // Issued while the transaction is open: it must not see (or join) the transaction.
        outside = db.query<{ c: number }>('SELECT count(*)::int AS c FROM t WHERE id = $1', ['in-tx']);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await outside, [{ c: 0 }]);
    const committed = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES ($1)', ['kept']);
      return 'done';
    });
    assert.equal(committed, 'done');
    assert.equal((await db.query('SELECT id FROM t WHERE id = $1', ['kept'])).length, 1);
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

  test('statements run in the order they were issued', async () => {
    await db.exec('CREATE TABLE seq (i integer)');
    await Promise.all(Array.from({ length: 50 }, (_, i) => db.query('INSERT INTO seq VALUES ($1)', [i])));
    const rows = await db.query<{ i: number }>('SELECT i FROM seq');
    assert.deepEqual(rows.map((r) => r.i), Array.from({ length: 50 }, (_, i) => i));
  });
});

test('a data folder survives a restart; a closed database refuses further statements', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-'));
  try {
    const first = await openDatabase({ ...options, dataDir: dir });
    await first.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('there')");
    await first.close();
    await assert.rejects(first.query('SELECT 1'), /embedded database stopped/);
    const second = await openDatabase({ ...options, dataDir: dir });
    assert.deepEqual(await second.query('SELECT v FROM kept'), [{ v: 'there' }]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data folder PGlite cannot open fails the open, and the thread is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-bad-'));
  try {
    const file = join(dir, 'not-a-folder');
    (await import('node:fs')).writeFileSync(file, 'x');
    await assert.rejects(PGliteThreadDatabase.open(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
