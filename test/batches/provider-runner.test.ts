import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { parseInput } from '../../src/batches/input.js';
import { ProviderBatchRunner } from '../../src/batches/provider-runner.js';
import { ProviderBatchStore } from '../../src/batches/provider-store.js';
import { BatchStore } from '../../src/batches/store.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { SluiceError } from '../../src/errors.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { FakeClock } from '../../src/lib/clock.js';
import type { ProviderBatchApi, ProviderBatchRef, ProviderBatchResult, ProviderBatchState } from '../../src/providers/batch.js';
import type { JsonObject, ProviderAdapter } from '../../src/providers/types.js';
import { chatLines } from '../helpers/batches.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The provider batch runner (issue 21) with an injected clock and a scripted batch API: the
 * lease is renewed while the provider takes its time to create a batch (no other instance can
 * take the row and create a second one), and a provider that cannot be reached is tried again.
 */

const DAY = 86_400_000;
const LEASE = 1_000;
const logger = pino({ level: 'silent' });

class ScriptedApi implements ProviderBatchApi {
  readonly endpoints: ReadonlySet<string> = new Set(['/v1/chat/completions']);
  readonly customIdPattern = null;
  submits = 0;
  /** Resolves the submission under way. */
  answer: ((ref: ProviderBatchRef) => void) | null = null;
  fail: SluiceError | null = null;

  prepare(_endpoint: string, body: JsonObject): JsonObject {
    return body;
  }
  submit(): Promise<ProviderBatchRef> {
    this.submits++;
    if (this.fail !== null) return Promise.reject(this.fail);
    return new Promise((resolve) => (this.answer = resolve));
  }
  async poll(): Promise<ProviderBatchState> {
    return { status: 'in_progress', ended: false, refused: null, expired: false };
  }
  async cancel(): Promise<void> {}
  async results(): Promise<ProviderBatchResult[]> {
    return [];
  }
}

describe('ProviderBatchRunner', () => {
  let db: Database;
  let clock: FakeClock;
  let api: ScriptedApi;
  let runner: ProviderBatchRunner;
  let id: string;

  beforeEach(async () => {
    db = await openDatabase({ url: null, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
    clock = new FakeClock();
    api = new ScriptedApi();
    const adapters = new Map([['up', { batches: api } as unknown as ProviderAdapter]]);
    const batch = await new BatchStore(db).create('t', ANONYMOUS, { endpoint: '/v1/chat/completions', inputFileId: 'f', completionWindow: '24h', windowMs: DAY, metadata: null }, parseInput(Buffer.from(chatLines(2)), '/v1/chat/completions'), clock.now(), {
      provider: 'up',
      route: 'r',
      model: 'gpt-test',
      targetModel: 'gpt-test',
      price: null,
    });
    id = batch.id;
    runner = new ProviderBatchRunner(db, () => adapters, clock, logger, { pollIntervalMs: 100, providerPollMs: 100, leaseTtlMs: LEASE, priceMultiplier: 0.5, usage: false }, () => {});
  });
  afterEach(async () => {
    api.answer?.({ id: 'late', fileId: null });
    await runner.stop(1000);
    await db.close();
  });

  test('a slow creation keeps its lease: another instance cannot take the row meanwhile', async () => {
    runner.start();
    await waitFor(() => api.submits === 1, 'the creation under way');
    const other = new ProviderBatchStore(db);
    for (let i = 0; i < 5; i++) {
      clock.advance(LEASE / 2);
      // Let the renewal's write land before the other instance looks.
      await new Promise((resolve) => setImmediate(resolve));
      await waitFor(async () => Number((await db.query<{ e: number }>('SELECT lease_expires AS e FROM provider_batches'))[0]!.e) > clock.now(), 'the lease renewed');
      assert.deepEqual(await other.claim('other', 8, clock.now(), clock.now() + LEASE), [], `still held after ${(i + 1) * (LEASE / 2)} ms`);
    }
    api.answer!({ id: 'pb-1', fileId: 'f-1' });
    api.answer = null;
    await waitFor(async () => (await db.query<{ state: string }>('SELECT state FROM provider_batches'))[0]!.state === 'running', 'the provider id stored');
    assert.equal(api.submits, 1);
  });

  test('a provider that cannot be reached is tried again at the next poll, resuming (it may hold the batch)', async () => {
    api.fail = new SluiceError('SLUICE_ERR_UPSTREAM_UNREACHABLE');
    runner.start();
    await waitFor(() => api.submits === 1, 'the first attempt');
    await waitFor(async () => (await db.query<{ owner: string | null }>('SELECT lease_owner AS owner FROM provider_batches'))[0]!.owner === null, 'the row given back');
    const row = (await db.query<{ state: string; next: number }>('SELECT state, next_poll_at AS next FROM provider_batches'))[0]!;
    assert.equal(row.state, 'submitting');
    clock.advance(200);
    await waitFor(() => api.submits === 2, 'tried again');
    assert.equal(id.startsWith('batch_'), true);
  });
});
