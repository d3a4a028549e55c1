import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { driveLoad, storedIds, storedTotals } from '../helpers/usage.js';

const ADMIN = 'admin-token-0123456789abcdef';

describe('usage records in embedded PGlite', () => {
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-'));
    gw = await startGateway({ admin: { tokens: [ADMIN] }, database: { embedded: 'memory' }, usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms', batchSize: 7 } });
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one record per request; counts and token sums equal what was served', async () => {
    const served = await driveLoad(gw.url, 60, { concurrency: 6 });
    assert.equal(served.failed, 0);
    await gw.gateway.usage!.drain();
    const db = gw.gateway.database!;
    const totals = await storedTotals(db);
    assert.deepEqual(totals, { count: 60, distinct: 60, prompt: served.prompt, completion: served.completion });
    assert.deepEqual(await storedIds(db), new Set(served.ids));
    const [row] = await db.query<Record<string, unknown>>("SELECT * FROM usage_records WHERE endpoint = 'chat' AND stream LIMIT 1");
    assert.equal(row!.principal, 'anonymous');
    assert.equal(row!.provider, 'mock');
    assert.equal(row!.status, 200);
    assert.equal(row!.estimated, false);
    assert.ok(Number(row!.latency_ms) >= Number(row!.ttfb_ms));
  });
});
