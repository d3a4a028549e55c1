import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { parseInput } from '../../src/batches/input.js';
import type { PassthroughPlan } from '../../src/batches/provider-plan.js';
import { ProviderBatchStore } from '../../src/batches/provider-store.js';
import { BatchStore } from '../../src/batches/store.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { chatLines } from '../helpers/batches.js';

/**
 * The provider batch rows (issue 21, migration 8) on embedded SQLite: leases, the steps'
 * states, and how a passed-through batch ends (its provider decides, not Sluice's window).
 */

const DAY = 86_400_000;
const plan: PassthroughPlan = { provider: 'up', route: 'r', model: 'gpt-test', targetModel: 'gpt-test-1', price: { input: 1, output: 2 } };

describe('ProviderBatchStore', () => {
  let db: Database;
  let batches: BatchStore;
  let store: ProviderBatchStore;

  beforeEach(async () => {
    db = await openDatabase({ url: null, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
    batches = new BatchStore(db);
    store = new ProviderBatchStore(db);
  });
  afterEach(async () => {
    await db.close();
  });

  async function create(lines = 3): Promise<string> {
    const b = await batches.create('t', ANONYMOUS, { endpoint: '/v1/chat/completions', inputFileId: 'f', completionWindow: '24h', windowMs: DAY, metadata: null }, parseInput(Buffer.from(chatLines(lines)), '/v1/chat/completions'), 0, plan);
    return b.id;
  }

  test('a passed-through batch: its lines are not claimed by line runners, nor ended or expired by Sluice', async () => {
    const id = await create();
    assert.deepEqual(await batches.claim('runner', 10, 0, 1000), []);
    assert.deepEqual(await batches.endable(0), []);
    assert.deepEqual(await batches.endable(2 * DAY), [], "the provider's window decides");
    const claimed = await store.claim('a', 8, 0, 1000);
    assert.equal(claimed.length, 1);
    assert.deepEqual([claimed[0]!.batchId, claimed[0]!.state, claimed[0]!.ref, claimed[0]!.targetModel, claimed[0]!.endpoint], [id, 'pending', null, 'gpt-test-1', '/v1/chat/completions']);
    assert.deepEqual(claimed[0]!.price, { input: 1, output: 2 });
    assert.equal((await store.lines(id)).length, 3);
  });

  test('one holder at a time: a live lease is not claimed again, an expired one is, and a lost lease cannot store a step', async () => {
    const id = await create();
    assert.equal((await store.claim('a', 8, 0, 1000)).length, 1);
    assert.deepEqual(await store.claim('b', 8, 500, 1500), [], 'a holds it');
    const taken = await store.claim('b', 8, 1000, 2000);
    assert.equal(taken.length, 1, "a's lease ran out");
    assert.equal(await store.submitting(id, 'a', 1000), false, 'a lost it');
    assert.equal(await store.submitting(id, 'b', 1000), true);
    await store.submitted(id, 'b', { id: 'pb-1', fileId: 'f-1' }, 5000);
    assert.deepEqual(await store.claim('c', 8, 4999, 9999), [], 'not due before its next poll');
    const running = await store.claim('c', 8, 5000, 9999);
    assert.deepEqual([running[0]!.state, running[0]!.ref, running[0]!.submittedAt], ['running', { id: 'pb-1', fileId: 'f-1' }, 1000]);
  });

  test('finish records the results once and ends the batch; a refusal hands the lines to the line runners', async () => {
    const id = await create();
    await store.claim('a', 8, 0, 1000);
    const lines = await store.lines(id);
    const results = lines.slice(0, 2).map((l) => ({ lineId: l.id, ok: true, result: `{"custom_id":"${l.customId}"}` }));
    assert.equal(await store.finish(id, 'a', results, (l) => `{"missing":"${l.customId}"}`, 'completed'), true);
    assert.equal(await store.finish(id, 'a', results, null, 'completed'), false, 'once');
    assert.deepEqual(await batches.endable(0), [{ id, from: 'in_progress', ending: 'completed' }]);
    const counts = await db.query<{ ok: number; n: number }>("SELECT ok, count(*) AS n FROM batch_lines WHERE batch_id = $1 AND state = 'done' GROUP BY ok ORDER BY ok", [id]);
    assert.deepEqual(counts.map((r) => [Number(r.ok), Number(r.n)]), [[0, 1], [1, 2]]);

    const other = await create(2);
    await store.claim('a', 8, 0, 1000);
    assert.equal(await store.refused(other, 'a', { code: 'SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED', message: 'no', param: null, line: null }), true);
    assert.equal((await batches.claim('runner', 10, 0, 1000)).length, 2, 'the lines run one by one now');
    assert.equal((await batches.get('t', other))!.errors!.data[0]!.code, 'SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED');
  });

  test('cancelling waits for the provider: the batch is cancelled once its lines are recorded or dropped', async () => {
    const id = await create();
    await batches.cancel('t', id, 10);
    assert.deepEqual(await batches.endable(20), [], 'lines still at the provider');
    await store.claim('a', 8, 20, 1000);
    await store.finish(id, 'a', [], null, 'cancelled');
    assert.deepEqual(await batches.endable(30), [{ id, from: 'cancelling', ending: 'cancelled' }]);
  });
});
