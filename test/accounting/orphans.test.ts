import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { adoptSpools, orphanSpools } from '../../src/accounting/orphans.js';
import { toUsageRecord } from '../../src/accounting/record.js';
import { Spool } from '../../src/accounting/spool.js';
import { UsageWriter } from '../../src/accounting/writer.js';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { RequestContext } from '../../src/exchange/context.js';
import { summarize } from '../../src/exchange/summary.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { PriceBook } from '../../src/tokens/prices.js';

const route = compileConfig(validateConfig({ usage: { enabled: false } }, 'test', {}), 'test').routes[0]!;
const silent = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));

/** A spool folder holding `n` records, left as a killed worker leaves it (written, not shipped). */
async function leaveRecords(dir: string, n: number, tag: string): Promise<void> {
  const spool = new Spool(dir, 'interval');
  for (let i = 0; i < n; i++) {
    const ctx = new RequestContext(`${tag}-${i}`, 'chat', { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }, route, 0);
    ctx.target = route.targets[0]!;
    ctx.status = 200;
    ctx.endedAt = 5;
    ctx.usage = { promptTokens: 2, cachedPromptTokens: 0, completionTokens: 3, totalTokens: 5 };
    spool.append(JSON.stringify(toUsageRecord(summarize(ctx), new PriceBook(), Date.now(), null)));
  }
  await spool.close();
}

describe('orphan usage spools: what an earlier worker layout left', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-orphans-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('which folders each process adopts', () => {
    const dir = join(root, 'layout');
    for (const n of [1, 2, 3, 10]) mkdirSync(join(dir, `worker-${n}`), { recursive: true });
    writeFileSync(join(dir, 'worker-7'), 'a file, not a spool'); // not a folder: ignored
    mkdirSync(join(dir, 'other'));
    const w = (...n: number[]): string[] => n.map((k) => join(dir, `worker-${k}`));
    // One process: every worker folder.
    assert.deepEqual(orphanSpools(dir, 1, null), w(1, 10, 2, 3));
    // Worker 1 of 2: slots above 2; the root has no segment of its own.
    assert.deepEqual(orphanSpools(dir, 2, 1), w(10, 3));
    // The other workers adopt nothing.
    assert.deepEqual(orphanSpools(dir, 2, 2), []);
    // Segments at the root (a run as one process): worker 1 adopts the root too, first.
    writeFileSync(join(dir, '000000000001.jsonl'), '');
    assert.deepEqual(orphanSpools(dir, 3, 1), [dir, ...w(10)]);
    assert.deepEqual(orphanSpools(join(root, 'missing'), 2, 1), []);
  });

  test('records left in orphan folders are stored, and emptied worker folders removed', async () => {
    const db: Database = await openDatabase({ url: null, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      const dir = join(root, 'adopt');
      await leaveRecords(join(dir, 'worker-2'), 3, 'w2');
      await leaveRecords(join(dir, 'worker-3'), 4, 'w3');
      const options = { enabled: true, batchSize: 500, flushIntervalMs: 1_000, fsync: 'interval', retentionMs: null } as const;
      const orphans = orphanSpools(dir, 1, null);
      assert.equal(orphans.length, 2);
      const emptied = await adoptSpools(orphans, (d) => new UsageWriter({ ...options, spoolDir: d }, db, new PriceBook(), systemClock, silent), silent, 5_000);
      assert.deepEqual(emptied, orphans);
      const rows = await db.query('SELECT request_id FROM usage_records ORDER BY request_id');
      assert.deepEqual(
        rows.map((r) => r.request_id),
        ['w2-0', 'w2-1', 'w2-2', 'w3-0', 'w3-1', 'w3-2', 'w3-3'],
      );
      assert.equal(existsSync(join(dir, 'worker-2')), false);
      assert.equal(existsSync(join(dir, 'worker-3')), false);
    } finally {
      await db.close();
    }
  });

  test('a folder another process holds is left alone, and nothing is deleted', async () => {
    const db: Database = await openDatabase({ url: null, dataDir: null, poolSize: 1, statementTimeoutMs: 5_000 });
    const dir = join(root, 'held');
    await leaveRecords(join(dir, 'worker-4'), 2, 'w4');
    const holder = new Spool(join(dir, 'worker-4'), 'interval'); // this process holds its LOCK
    try {
      const options = { enabled: true, batchSize: 500, flushIntervalMs: 1_000, fsync: 'interval', retentionMs: null } as const;
      const emptied = await adoptSpools([join(dir, 'worker-4')], (d) => new UsageWriter({ ...options, spoolDir: d }, db, new PriceBook(), systemClock, silent), silent, 5_000);
      assert.deepEqual(emptied, []);
      assert.equal((await db.query('SELECT count(*) AS n FROM usage_records'))[0]!.n, 0);
      assert.equal(existsSync(join(dir, 'worker-4', '000000000001.jsonl')), true);
    } finally {
      await holder.close();
      await db.close();
    }
  });
});
