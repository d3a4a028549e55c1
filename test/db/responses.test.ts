/**
 * The stored-responses store (issue 18) against embedded SQLite and a real PostgreSQL server:
 * per-tenant reads and deletes, retention with an injected clock, the purge of expired rows,
 * and a read that waits for its own write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { Database } from '../../src/db/index.js';
import { ResponsesStore, type ConversationPart, type StoredResponse } from '../../src/db/responses.js';
import { SluiceError } from '../../src/errors.js';
import { FakeClock } from '../../src/lib/clock.js';
import { bothDatabases } from '../helpers/postgres.js';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });

const stored = (id: string, previous: string | null = null, text = 'hi'): StoredResponse => ({
  id,
  response: { id, object: 'response', created_at: 1_700_000_000, output: [] },
  inputItems: [{ id: `msg_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
  items: [
    { type: 'message', role: 'user', content: text },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `re: ${text}` }] },
  ],
  previous,
});
const answerOf = (s: StoredResponse) => ({ id: s.id, response: s.response, inputItems: s.inputItems });
const itemsOf = (parts: ConversationPart[] | null): unknown[] => (parts ?? []).flatMap((p) => p.items ?? p.messages);

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
      assert.deepEqual(await store.get('key:a', 'resp_1'), answerOf(stored('resp_1')));
      assert.deepEqual(await store.conversation('key:a', 'resp_1'), [{ items: stored('resp_1').items, messages: [] }]);
    });

    test('a conversation of 40 turns stores each turn once and reads back whole, in order', async () => {
      const turns = Array.from({ length: 40 }, (_, i) => stored(`resp_c${i}`, i === 0 ? null : `resp_c${i - 1}`, `turn ${i} ${'x'.repeat(200)}`));
      // Each turn is stored once its predecessor is (the client continues what it was answered).
      for (const t of turns) {
        store.put('key:a', t);
        await store.settled();
      }
      assert.deepEqual(itemsOf(await store.conversation('key:a', 'resp_c39')), turns.flatMap((t) => t.items));
      assert.deepEqual(itemsOf(await store.conversation('key:a', 'resp_c9')), turns.slice(0, 10).flatMap((t) => t.items));
      // Linear, not quadratic: every row holds its own turn only (before migration 10, row k held k turns).
      const [row] = await db.query<{ bytes: number | string }>("SELECT SUM(LENGTH(items)) AS bytes FROM stored_responses WHERE id LIKE 'resp_c%'");
      assert.equal(Number(row!.bytes), turns.reduce((n, t) => n + JSON.stringify(t.items).length, 0));
    });

    test('rows written before migration 10 (the whole conversation as items) or 9 (as chat messages) end a chain', async () => {
      const whole = [{ type: 'message', role: 'user', content: 'a' }, { type: 'message', role: 'assistant', content: 'b' }];
      const insert = 'INSERT INTO stored_responses (id, tenant, created_at, expires_at, response, input_items, messages, items) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';
      await db.query(insert, ['resp_v9', 'key:a', 0, clock.now() + DAY, '{"id":"resp_v9"}', '[]', '[]', JSON.stringify(whole)]);
      await db.query(insert, ['resp_v4', 'key:a', 0, clock.now() + DAY, '{"id":"resp_v4"}', '[]', '[{"role":"user","content":"hi"}]', null]);
      assert.deepEqual(await store.conversation('key:a', 'resp_v4'), [{ items: null, messages: [{ role: 'user', content: 'hi' }] }]);
      store.put('key:a', stored('resp_after9', 'resp_v9'));
      store.put('key:a', stored('resp_after4', 'resp_v4'));
      await store.settled();
      assert.deepEqual(await store.conversation('key:a', 'resp_after9'), [{ items: whole, messages: [] }, { items: stored('x').items, messages: [] }]);
      assert.deepEqual(await store.conversation('key:a', 'resp_after4'), [{ items: null, messages: [{ role: 'user', content: 'hi' }] }, { items: stored('x').items, messages: [] }]);
    });

    test('deleting a response that later ones continue: gone for its client, kept for them; the last one deleted takes it along', async () => {
      for (const [id, previous] of [['resp_d1', null], ['resp_d2', 'resp_d1'], ['resp_d3', 'resp_d2']] as const) {
        store.put('key:a', stored(id, previous, id));
        await store.settled();
      }
      assert.equal(await store.delete('key:a', 'resp_d2'), true);
      assert.equal(await store.get('key:a', 'resp_d2'), null);
      assert.equal(await store.conversation('key:a', 'resp_d2'), null, 'no continuing from a deleted response');
      assert.equal(await store.delete('key:a', 'resp_d2'), false);
      // Its response object and input list are gone at once; only the turn later ones need is left.
      const [hidden] = await db.query<{ response: string; input_items: string }>('SELECT response, input_items FROM stored_responses WHERE id = $1', ['resp_d2']);
      assert.deepEqual(hidden, { response: '{}', input_items: '[]' });
      assert.deepEqual(itemsOf(await store.conversation('key:a', 'resp_d3')), ['resp_d1', 'resp_d2', 'resp_d3'].flatMap((id) => stored(id, null, id).items));
      assert.equal(await store.delete('key:a', 'resp_d3'), true);
      const left = await db.query<{ id: string }>("SELECT id FROM stored_responses WHERE id LIKE 'resp_d%' ORDER BY id");
      assert.deepEqual(left.map((r) => r.id), ['resp_d1'], 'the hidden turn went with the last response that needed it');
    });

    test('a chain missing a part (a row removed outside Sluice) is a 404 that says so', async () => {
      store.put('key:a', stored('resp_m1'));
      await store.settled();
      store.put('key:a', stored('resp_m2', 'resp_m1'));
      await store.settled();
      await db.query('DELETE FROM stored_responses WHERE id = $1', ['resp_m1']);
      await assert.rejects(store.conversation('key:a', 'resp_m2'), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_RESPONSE_NOT_FOUND' && /no longer stored/.test(err.message));
    });

    test('another tenant finds nothing, and cannot delete it', async () => {
      store.put('key:a', stored('resp_2'));
      assert.equal(await store.get('key:b', 'resp_2'), null);
      assert.equal(await store.conversation('key:b', 'resp_2'), null);
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

    test('the turns a response continues live as long as it does (a chain is never cut at its start)', async () => {
      const hourClock = new FakeClock();
      const short = new ResponsesStore(db, hourClock, 3_600_000, logger);
      short.put('key:e', stored('resp_e1', null, 'e1'));
      await short.settled();
      hourClock.advance(50 * 60_000);
      short.put('key:e', stored('resp_e2', 'resp_e1', 'e2'));
      await short.settled();
      hourClock.advance(50 * 60_000);
      // resp_e1 alone would have expired 40 minutes ago.
      assert.notEqual(await short.get('key:e', 'resp_e1'), null);
      short.put('key:e', stored('resp_e3', 'resp_e2', 'e3'));
      await short.settled();
      assert.equal(itemsOf(await short.conversation('key:e', 'resp_e3')).length, 6);
      // An hour after the last turn, plus the half-retention slack at most, everything is gone.
      hourClock.advance(90 * 60_000 + 1);
      for (const id of ['resp_e1', 'resp_e2', 'resp_e3']) assert.equal(await short.get('key:e', id), null, id);
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
