/**
 * The stored-responses store (issue 18) against embedded SQLite and a real PostgreSQL server:
 * per-tenant reads and deletes, retention with an injected clock, the purge of expired rows,
 * and a read that waits for its own write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { Database } from '../../src/db/index.js';
import { ResponsesStore, type StoredResponse } from '../../src/db/responses.js';
import { SluiceError } from '../../src/errors.js';
import { FakeClock } from '../../src/lib/clock.js';
import { bothDatabases } from '../helpers/postgres.js';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });

const stored = (id: string): StoredResponse => ({
  id,
  response: { id, object: 'response', created_at: 1_700_000_000, output: [] },
  inputItems: [{ id: `msg_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
  messages: [],
  items: [{ type: 'message', role: 'user', content: 'hi' }],
});

const { targets, stop } = bothDatabases();
after(stop);

for (const target of targets) {
  describe(`ResponsesStore: ${target.name}`, () => {
    let db: Database;
    let clock: FakeClock;
    let store: ResponsesStore;

    before(async () => {
      db = await target.open();
      clock = new FakeClock();
      store = new ResponsesStore(db, clock, 30 * DAY, logger);
    });

    after(async () => {
      await db?.close();
    });

    test('a read right after put waits for the write and returns what was kept', async () => {
      store.put('key:a', stored('resp_1'));
      assert.deepEqual(await store.get('key:a', 'resp_1'), stored('resp_1'));
    });

    test('a row written before migration 9 (chat messages, no items) reads with items null', async () => {
      await db.query('INSERT INTO stored_responses (id, tenant, created_at, expires_at, response, input_items, messages) VALUES ($1, $2, $3, $4, $5, $6, $7)', ['resp_legacy', 'key:a', 0, clock.now() + DAY, '{"id":"resp_legacy"}', '[]', '[{"role":"user","content":"hi"}]']);
      const row = await store.get('key:a', 'resp_legacy');
      assert.equal(row?.items, null);
      assert.deepEqual(row?.messages, [{ role: 'user', content: 'hi' }]);
    });

    test('another tenant finds nothing, and cannot delete it', async () => {
      store.put('key:a', stored('resp_2'));
      assert.equal(await store.get('key:b', 'resp_2'), null);
      assert.equal(await store.delete('key:b', 'resp_2'), false);
      assert.notEqual(await store.get('key:a', 'resp_2'), null);
    });

    test('delete removes it for good', async () => {
      store.put('anonymous', stored('resp_3'));
      assert.equal(await store.delete('anonymous', 'resp_3'), true);
      assert.equal(await store.get('anonymous', 'resp_3'), null);
      assert.equal(await store.delete('anonymous', 'resp_3'), false);
    });

    test('past the retention a response is not returned, and the next write purges it', async () => {
      store.put('key:a', stored('resp_old'));
      await store.settled();
      clock.advance(29 * DAY);
      assert.notEqual(await store.get('key:a', 'resp_old'), null);
      clock.advance(DAY + 1);
      assert.equal(await store.get('key:a', 'resp_old'), null);
      store.put('key:a', stored('resp_new'));
      await store.settled();
      const rows = await db.query<{ id: string }>('SELECT id FROM stored_responses ORDER BY id');
      assert.ok(!rows.some((r) => r.id === 'resp_old'), 'expired rows are deleted');
      assert.ok(rows.some((r) => r.id === 'resp_new'));
    });

    test('a database that fails reads as SLUICE_ERR_DATABASE_UNAVAILABLE; a failed write is logged, not thrown', async () => {
      const broken: Database = { ...db, kind: db.kind, query: () => Promise.reject(new Error('down')) };
      const lines: string[] = [];
      const failing = new ResponsesStore(broken, clock, DAY, pino({ level: 'warn' }, { write: (l: string) => lines.push(l) }));
      failing.put('key:a', stored('resp_x'));
      await failing.settled();
      assert.ok(lines.some((l) => l.includes('stored response not written')));
      await assert.rejects(failing.get('key:a', 'resp_x'), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_DATABASE_UNAVAILABLE');
    });
  });
}

test('ResponsesStore refuses a retention that is not positive', () => {
  assert.throws(() => new ResponsesStore({} as Database, new FakeClock(), 0, logger), /retentionMs/);
});
