import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { FakeClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { RequestContext } from '../../src/exchange/context.js';
import { summarize, type RequestSummary } from '../../src/exchange/summary.js';
import { PriceBook } from '../../src/tokens/prices.js';
import { UsageWriter } from '../../src/accounting/writer.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

const route = compileConfig(validateConfig({ usage: { enabled: false } }, 'test', {}), 'test').routes[0]!;

/** A finished request as the gateway publishes it. */
function finished(id: string): RequestSummary {
  const ctx = new RequestContext(id, 'chat', { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }, route, 0);
  ctx.target = route.targets[0]!;
  ctx.status = 200;
  ctx.firstByteAt = 3;
  ctx.endedAt = 5;
  ctx.usage = { promptTokens: 12, cachedPromptTokens: 0, completionTokens: 30, totalTokens: 42 };
  return summarize(ctx);
}

/** Yields to I/O (the database's answers) until `done`; no timers, so no time passes on any clock. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100_000 && !done(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(done(), `never: ${what}`);
}

describe('the usage writer', () => {
  let server: PostgresServer;
  let db: Database;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    db = await openDatabase({ url: server.url, dataDir: null, poolSize: 2, statementTimeoutMs: 5_000 });
    dir = mkdtempSync(join(tmpdir(), 'sluice-writer-'));
  });
  after(async () => {
    await db?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Issue 15: the backoff compared Date.now() with a deadline, so it could not be tested
  // without waiting for it, and it ignored the clock the gateway injects.
  test('the backoff after a failed batch is decided by the injected clock; rounds are paced by the injected pacer', async () => {
    const clock = new FakeClock();
    const pacer = new FakeClock();
    const logger = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
    const options = { enabled: true, spoolDir: join(dir, 'spool'), batchSize: 10, flushIntervalMs: 1_000, fsync: 'interval', retentionMs: null } as const;
    const writer = new UsageWriter(options, db, new PriceBook(), clock, logger, pacer);
    const round = async (): Promise<void> => {
      pacer.advance(options.flushIntervalMs);
      // A round ends by scheduling the next one on the pacer.
      await until(() => pacer.pendingTimers === 1, 'the round ended');
    };
    await db.query('ALTER TABLE usage_records RENAME TO usage_records_away');
    try {
      writer.start();
      writer.record(finished('writer-backoff-1'));
      await writer.handedOff();
      await round();
      assert.equal(writer.stats.failures, 1, 'the database refused the batch');
      assert.equal(writer.status().healthy, false);
    } finally {
      await db.query('ALTER TABLE usage_records_away RENAME TO usage_records');
    }
    // The database is back, but the injected clock has not moved: still backing off.
    await round();
    await round();
    assert.equal(writer.stats.stored, 0, 'no attempt before the backoff ran out on the injected clock');
    assert.equal(writer.stats.failures, 1);
    clock.advance(options.flushIntervalMs);
    await round();
    assert.equal(writer.stats.stored, 1, 'shipped once the injected clock passed the backoff');
    assert.equal(writer.status().healthy, true);
    await writer.stop(1_000);
  });

  test('retention is checked hourly by the injected clock, and prunes by it', async () => {
    await db.query('DELETE FROM usage_records');
    const clock = new FakeClock();
    const pacer = new FakeClock();
    const logger = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
    const options = { enabled: true, spoolDir: join(dir, 'spool-retention'), batchSize: 10, flushIntervalMs: 1_000, fsync: 'interval', retentionMs: 60_000 } as const;
    const writer = new UsageWriter(options, db, new PriceBook(), clock, logger, pacer);
    const round = async (): Promise<void> => {
      pacer.advance(options.flushIntervalMs);
      await until(() => pacer.pendingTimers === 1, 'the round ended');
    };
    writer.start();
    writer.record(finished('writer-retention-1'));
    await round();
    assert.equal(writer.stats.stored, 1);
    clock.advance(30 * 60_000);
    await round();
    assert.equal((await db.query('SELECT 1 FROM usage_records')).length, 1, 'the next check is an hour after the last one');
    clock.advance(30 * 60_000);
    await round();
    assert.equal((await db.query('SELECT 1 FROM usage_records')).length, 0, 'an hour later on the injected clock, the record older than the retention is gone');
    await writer.stop(1_000);
  });

  test('stop is bounded by the pacer, not by a real timer', async () => {
    const pacer = new FakeClock();
    const logger = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
    const options = { enabled: true, spoolDir: join(dir, 'spool-stop'), batchSize: 10, flushIntervalMs: 1_000, fsync: 'always', retentionMs: null } as const;
    const writer = new UsageWriter(options, db, new PriceBook(), new FakeClock(), logger, pacer);
    writer.record(finished('writer-stop-1'));
    await writer.handedOff();
    assert.equal(writer.spool.durable, 1, 'fsync always: handed off means synced');
    await writer.stop(60_000);
    assert.equal(writer.stats.stored, 1, 'the stop shipped what was spooled');
    assert.equal(pacer.pendingTimers, 0, 'the bound was cleared on the pacer');
  });
});
