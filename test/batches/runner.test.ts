/**
 * The batch runner (issue 21) with an injected clock, a fake line executor and embedded
 * SQLite: lines refused for now wait and run again, a line refused too often is recorded,
 * a failing executor is a recorded 500, and the batch ends when its lines are done.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import type { LineExecutor, LineOutcome } from '../../src/batches/execute.js';
import { parseInput } from '../../src/batches/input.js';
import { BatchRunner, MAX_ATTEMPTS } from '../../src/batches/runner.js';
import { BatchStore, type BatchJob, type ClaimedLine } from '../../src/batches/store.js';
import { FileStore } from '../../src/batches/files.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { FakeClock } from '../../src/lib/clock.js';
import { chatLines, outputLines } from '../helpers/batches.js';
import { waitFor } from '../helpers/wait.js';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });
const ok = (line: ClaimedLine): LineOutcome => ({ kind: 'answer', ok: true, status: 200, requestId: `r-${line.line}`, body: { line: line.line } });

class ScriptedExecutor implements LineExecutor {
  readonly calls: { line: number; at: number }[] = [];
  constructor(
    readonly clock: FakeClock,
    readonly answer: (line: ClaimedLine, call: number) => LineOutcome | Promise<LineOutcome>,
  ) {}
  async run(line: ClaimedLine, _job: BatchJob): Promise<LineOutcome> {
    this.calls.push({ line: line.line, at: this.clock.now() });
    return this.answer(line, this.calls.filter((c) => c.line === line.line).length);
  }
}

describe('BatchRunner', () => {
  let db: Database;
  let clock: FakeClock;
  let store: BatchStore;
  let files: FileStore;
  let runner: BatchRunner | null;

  beforeEach(async () => {
    db = await openDatabase({ url: null, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
    clock = new FakeClock();
    store = new BatchStore(db);
    files = new FileStore(db, clock, DAY);
    runner = null;
  });

  afterEach(async () => {
    await runner?.stop(1000);
    await db.close();
  });

  async function run(lines: number, executor: LineExecutor): Promise<string> {
    const batch = await store.create('key:a', ANONYMOUS, { endpoint: '/v1/chat/completions', inputFileId: 'f', completionWindow: '24h', windowMs: DAY, metadata: null }, parseInput(Buffer.from(chatLines(lines)), '/v1/chat/completions'), clock.now());
    runner = new BatchRunner(store, executor, clock, logger, { concurrency: 2, pollIntervalMs: 100, leaseTtlMs: 1000, retentionMs: DAY });
    runner.start();
    return batch.id;
  }

  /** Waits for the batch to end, moving the fake clock a step each time it looks. */
  async function ended(id: string, step: number): Promise<void> {
    await waitFor(async () => {
      const b = await store.get('key:a', id);
      if (b!.status === 'completed') return true;
      clock.advance(step);
      return false;
    }, 'the batch to complete');
  }

  test('lines run, at most `concurrency` at once, and the batch completes with its output file', async () => {
    let open = 0;
    let most = 0;
    const executor = new ScriptedExecutor(clock, async (line) => {
      most = Math.max(most, ++open);
      await new Promise((r) => setImmediate(r));
      open--;
      return ok(line);
    });
    const id = await run(7, executor);
    await ended(id, 0);
    assert.equal(most, 2);
    assert.deepEqual(executor.calls.map((c) => c.line).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7]);
    const b = (await store.get('key:a', id))!;
    assert.deepEqual(b.request_counts, { total: 7, completed: 7, failed: 0 });
    const out = outputLines((await files.content('key:a', b.output_file_id!))!.content.toString());
    assert.deepEqual(out.map((l) => [l.custom_id, l.response?.status_code, l.response?.request_id]), Array.from({ length: 7 }, (_, i) => [`req-${i}`, 200, `r-${i + 1}`]));
  });

  test('a line refused for now waits for its Retry-After, then runs again', async () => {
    const executor = new ScriptedExecutor(clock, (line, call) => (call === 1 ? { kind: 'later', retryAfterMs: 5_000, status: 429, requestId: 'x', body: {} } : ok(line)));
    const start = clock.now();
    const id = await run(1, executor);
    await ended(id, 250);
    assert.equal(executor.calls.length, 2);
    assert.ok(executor.calls[1]!.at - start >= 5_000, `ran again after ${executor.calls[1]!.at - start} ms`);
  });

  test(`a line refused ${MAX_ATTEMPTS} times is recorded with the last refusal`, async () => {
    const refusal = { error: { code: 'SLUICE_ERR_QUEUE_FULL' } };
    const executor = new ScriptedExecutor(clock, () => ({ kind: 'later', retryAfterMs: null, status: 429, requestId: 'x', body: refusal }));
    const id = await run(1, executor);
    await ended(id, 5_000);
    assert.equal(executor.calls.length, MAX_ATTEMPTS);
    const b = (await store.get('key:a', id))!;
    assert.deepEqual(b.request_counts, { total: 1, completed: 0, failed: 1 });
    const [line] = outputLines((await files.content('key:a', b.error_file_id!))!.content.toString());
    assert.deepEqual(line!.response?.body, refusal);
  });

  test('an executor that throws is a recorded 500, not a line run forever', async () => {
    const executor = new ScriptedExecutor(clock, () => {
      throw new Error('boom');
    });
    const id = await run(2, executor);
    await ended(id, 0);
    assert.equal(executor.calls.length, 2);
    const b = (await store.get('key:a', id))!;
    const lines = outputLines((await files.content('key:a', b.error_file_id!))!.content.toString());
    assert.deepEqual(lines.map((l) => l.response?.status_code), [500, 500]);
  });

  test('a line running longer than its lease keeps it: renewed at each poll, never claimed by another runner', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const executor = new ScriptedExecutor(clock, async (line) => {
      await gate;
      return ok(line);
    });
    const id = await run(1, executor);
    await waitFor(() => executor.calls.length === 1, 'the line to start');
    const leaseEnd = async (): Promise<number> => Number((await db.query<{ e: number }>('SELECT lease_expires AS e FROM batch_lines'))[0]!.e);
    const start = clock.now();
    for (let round = 0; round < 5; round++) {
      const before = await leaseEnd();
      clock.advance(400);
      // The runner sets its next poll when its tick is over: time moves on while we look.
      await waitFor(async () => {
        if ((await leaseEnd()) > before) return true;
        clock.advance(10);
        return false;
      }, `the lease renewed at +${clock.now() - start} ms`);
    }
    assert.ok(clock.now() > start + 1000, 'past the first lease');
    assert.ok((await leaseEnd()) > clock.now(), 'the lease still holds');
    assert.deepEqual(await store.claim('other', 10, clock.now(), clock.now() + 1000), []);
    finish();
    await ended(id, 0);
    assert.equal(executor.calls.length, 1);
  });

  test('the lines of a batch whose key was revoked are refused with SLUICE_ERR_UNAUTHORIZED, not run', async () => {
    await db.query("INSERT INTO api_keys (id, name, key_hash, key_prefix, tier, revoked_at) VALUES ('k1', 'k1', 'hash', 'sk-', 'default', $1)", [new Date(clock.now()).toISOString()]);
    const principal = { ...ANONYMOUS, id: 'key:k1', kind: 'key' as const, keyId: 'k1' };
    const batch = await store.create('key:k1', principal, { endpoint: '/v1/chat/completions', inputFileId: 'f', completionWindow: '24h', windowMs: DAY, metadata: null }, parseInput(Buffer.from(chatLines(2)), '/v1/chat/completions'), clock.now());
    const executor = new ScriptedExecutor(clock, ok);
    runner = new BatchRunner(store, executor, clock, logger, { concurrency: 2, pollIntervalMs: 100, leaseTtlMs: 1000, retentionMs: DAY });
    runner.start();
    await waitFor(async () => (await store.get('key:k1', batch.id))!.status === 'completed', 'the batch to complete');
    assert.equal(executor.calls.length, 0);
    const b = (await store.get('key:k1', batch.id))!;
    const lines = outputLines((await files.content('key:k1', b.error_file_id!))!.content.toString());
    assert.deepEqual(lines.map((l) => [l.response?.status_code, (l.response?.body.error as { code: string }).code]), [
      [401, 'SLUICE_ERR_UNAUTHORIZED'],
      [401, 'SLUICE_ERR_UNAUTHORIZED'],
    ]);
  });

  test('a lease too short for the poll interval is refused at construction', () => {
    assert.throws(() => new BatchRunner(store, new ScriptedExecutor(clock, ok), clock, logger, { concurrency: 1, pollIntervalMs: 100, leaseTtlMs: 200, retentionMs: DAY }), /three poll intervals/);
  });
});
