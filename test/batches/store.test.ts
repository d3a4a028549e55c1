/**
 * The batch store (issue 21) against embedded SQLite and a real PostgreSQL server: tenancy,
 * paging, claims and leases, results recorded once, and a batch ended once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FileStore } from '../../src/batches/files.js';
import { parseInput } from '../../src/batches/input.js';
import { BatchStore } from '../../src/batches/store.js';
import type { Database } from '../../src/db/index.js';
import { ANONYMOUS, type Principal } from '../../src/exchange/principal.js';
import { FakeClock } from '../../src/lib/clock.js';
import { bothDatabases } from '../helpers/postgres.js';
import { chatLines } from '../helpers/batches.js';

const DAY = 86_400_000;
const principal: Principal = { ...ANONYMOUS, id: 'key:a', kind: 'key', keyId: 'a' };
const input = (n: number): ReturnType<typeof parseInput> => parseInput(Buffer.from(chatLines(n)), '/v1/chat/completions');
const newBatch = { endpoint: '/v1/chat/completions', inputFileId: 'file-x', completionWindow: '24h', windowMs: DAY, metadata: null };
const expired = (customId: string): string => JSON.stringify({ custom_id: customId, error: { code: 'SLUICE_ERR_BATCH_EXPIRED' } });

const { targets, stop } = bothDatabases();
after(stop);

for (const target of targets) {
  describe(`BatchStore: ${target.name}`, () => {
    let db: Database;
    let clock: FakeClock;
    let store: BatchStore;
    let files: FileStore;

    before(async () => {
      db = await target.open();
      clock = new FakeClock();
      store = new BatchStore(db);
      files = new FileStore(db, clock, 30 * DAY);
    });

    after(async () => {
      await db.close();
    });

    test('a batch is its tenant’s only; lists page newest first', async () => {
      const made = [];
      for (let i = 0; i < 3; i++) {
        clock.advance(1);
        made.push(await store.create('key:a', principal, newBatch, input(2), clock.now()));
      }
      assert.equal(made[0]!.request_counts.total, 2);
      assert.equal(await store.get('key:b', made[0]!.id), null);
      assert.deepEqual((await store.list('key:b', null, 10)).data, []);
      const page1 = await store.list('key:a', null, 2);
      assert.deepEqual(page1.data.map((b) => b.id).slice(0, 2), [made[2]!.id, made[1]!.id]);
      assert.equal(page1.has_more, true);
      const page2 = await store.list('key:a', page1.last_id, 2);
      assert.equal(page2.data[0]!.id, made[0]!.id);
      // Leave nothing claimable behind for the next cases.
      for (const b of made) await store.cancel('key:a', b.id, clock.now());
      for (const e of await store.endable(clock.now())) await store.end(e.id, e.from, e.ending, clock.now(), DAY, expired);
    });

    test('claims lease distinct lines; an expired lease is claimed again; a result is recorded once', async () => {
      const batch = await store.create('key:a', principal, newBatch, input(5), clock.now());
      const now = clock.now();
      const first = await store.claim('one', 3, now, now + 1000);
      const second = await store.claim('two', 3, now, now + 1000);
      assert.deepEqual(first.map((l) => l.line), [1, 2, 3]);
      assert.deepEqual(second.map((l) => l.line), [4, 5]);
      assert.deepEqual(await store.claim('three', 3, now, now + 1000), [], 'nothing left while the leases hold');
      assert.equal(await store.record(first[0]!.id, true, '{"a":1}'), true);
      assert.equal(await store.record(first[0]!.id, true, '{"a":2}'), false, 'a second result is dropped');
      // "one" dies: after its leases expire its unrecorded lines go to another runner.
      clock.advance(1001);
      await store.renew('two', second.map((l) => l.id), clock.now() + 1000);
      const again = await store.claim('three', 10, clock.now(), clock.now() + 1000);
      assert.deepEqual(again.map((l) => [l.line, l.attempts]), [
        [2, 2],
        [3, 2],
      ]);
      for (const l of [...again, ...second]) await store.record(l.id, l.line !== 5, `{"line":${l.line}}`);
      const ready = await store.endable(clock.now());
      assert.deepEqual(ready, [{ id: batch.id, from: 'in_progress', ending: 'completed' }]);
      assert.equal(await store.end(batch.id, 'in_progress', 'completed', clock.now(), DAY, expired), true);
      assert.equal(await store.end(batch.id, 'in_progress', 'completed', clock.now(), DAY, expired), false, 'ended once');
      const done = (await store.get('key:a', batch.id))!;
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.request_counts, { total: 5, completed: 4, failed: 1 });
      const out = (await files.content('key:a', done.output_file_id!))!;
      assert.equal(out.file.purpose, 'batch_output');
      assert.equal(out.content.toString(), '{"a":1}\n{"line":2}\n{"line":3}\n{"line":4}\n');
      assert.equal((await files.content('key:a', done.error_file_id!))!.content.toString(), '{"line":5}\n');
      assert.equal(await files.content('key:b', done.output_file_id!), null, 'the output is the tenant’s');
    });

    test('a line given back for later is claimed only once its time has come', async () => {
      const batch = await store.create('key:a', principal, newBatch, input(1), clock.now());
      const [line] = await store.claim('one', 1, clock.now(), clock.now() + 60_000);
      await store.retryAt(line!.id, 'one', clock.now() + 500);
      assert.deepEqual(await store.claim('two', 1, clock.now(), clock.now() + 1000), []);
      clock.advance(500);
      const [back] = await store.claim('two', 1, clock.now(), clock.now() + 1000);
      assert.equal(back?.attempts, 2);
      await store.record(back!.id, true, '{}');
      for (const e of await store.endable(clock.now())) await store.end(e.id, e.from, e.ending, clock.now(), DAY, expired);
      assert.equal((await store.get('key:a', batch.id))!.status, 'completed');
    });

    test('cancel: no more claims; cancelled once no line runs, with the finished ones kept', async () => {
      const batch = await store.create('key:a', principal, newBatch, input(4), clock.now());
      const [running] = await store.claim('one', 1, clock.now(), clock.now() + 1000);
      const cancelling = await store.cancel('key:a', batch.id, clock.now());
      assert.equal(cancelling?.status, 'cancelling');
      assert.equal(await store.cancel('key:b', batch.id, clock.now()), null);
      assert.deepEqual(await store.claim('two', 10, clock.now(), clock.now() + 1000), []);
      assert.deepEqual(await store.endable(clock.now()), [], 'a line is still running');
      await store.record(running!.id, true, '{"kept":true}');
      const [ready] = await store.endable(clock.now());
      assert.equal(ready?.ending, 'cancelled');
      await store.end(ready!.id, ready!.from, ready!.ending, clock.now(), DAY, expired);
      const done = (await store.get('key:a', batch.id))!;
      assert.equal(done.status, 'cancelled');
      assert.deepEqual(done.request_counts, { total: 4, completed: 1, failed: 0 });
      assert.equal(done.error_file_id, null);
      await assert.rejects(store.create('key:a', principal, newBatch, input(1), clock.now()).then((b) => store.end(b.id, 'in_progress', 'completed', clock.now(), DAY, expired).then(() => store.cancel('key:a', b.id, clock.now()))), /cannot be cancelled/);
    });

    test('past its window a batch expires: lines not run are in the error file as expired', async () => {
      const batch = await store.create('key:a', principal, { ...newBatch, windowMs: 1000 }, input(3), clock.now());
      const [line] = await store.claim('one', 1, clock.now(), clock.now() + 10_000);
      await store.record(line!.id, true, '{"ran":1}');
      clock.advance(1000);
      const ready = (await store.endable(clock.now())).find((e) => e.id === batch.id);
      assert.equal(ready?.ending, 'expired');
      await store.end(batch.id, 'in_progress', 'expired', clock.now(), DAY, expired);
      const done = (await store.get('key:a', batch.id))!;
      assert.equal(done.status, 'expired');
      assert.deepEqual(done.request_counts, { total: 3, completed: 1, failed: 2 });
      const errors = (await files.content('key:a', done.error_file_id!))!.content.toString().trim().split('\n');
      assert.deepEqual(errors.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id), ['req-1', 'req-2']);
    });

    test('purge deletes ended batches older than the cut, with their lines, and keeps running ones', async () => {
      const running = await store.create('key:a', principal, newBatch, input(1), clock.now());
      const ended = (await store.list('key:a', null, 100)).data.filter((b) => b.status !== 'in_progress');
      assert.ok(ended.length > 0);
      clock.advance(1);
      assert.equal(await store.purge(clock.now()), ended.length);
      assert.deepEqual((await store.list('key:a', null, 100)).data.map((b) => b.id), [running.id]);
      const lines = await db.query<{ batch_id: string }>('SELECT DISTINCT batch_id FROM batch_lines');
      assert.deepEqual(lines.map((l) => l.batch_id), [running.id]);
      await store.cancel('key:a', running.id, clock.now());
      for (const e of await store.endable(clock.now())) await store.end(e.id, e.from, e.ending, clock.now(), DAY, expired);
    });

    if (target.name === 'PostgreSQL') {
      test('concurrent claims never share a line (FOR UPDATE SKIP LOCKED)', async () => {
        await store.create('key:a', principal, newBatch, input(60), clock.now());
        const now = clock.now();
        const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => store.claim(`r${i}`, 8, now, now + 1000)));
        const ids = claims.flat().map((l) => l.id);
        // A claim may come back short when another committed first (its rows no longer match), never shared.
        assert.ok(ids.length >= 8 && ids.length <= 48, `${ids.length} lines claimed`);
        assert.equal(new Set(ids).size, ids.length);
      });
    }
  });
}
