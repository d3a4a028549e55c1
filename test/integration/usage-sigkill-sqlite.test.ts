import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../../src/db/index.js';
import { exitCode, killChildren, startCli } from '../helpers/cli.js';
import { driveLoad, storedIds, storedTotals } from '../helpers/usage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * usage-sigkill.test.ts on the embedded database: the gateway (SQLite in a data folder) is
 * killed mid-load and started again on the same folder, which the kill left unlocked.
 */
describe('usage records in embedded SQLite survive a SIGKILL of the gateway (fsync: always)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-kill-sqlite-'));
  });
  after(() => {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every request answered before the kill is stored once after a restart on the same data folder', async () => {
    const spoolDir = join(dir, 'spool');
    const dataDir = join(dir, 'data');
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `database: { dataDir: "${dataDir}" }\nusage: { spoolDir: "${spoolDir}", fsync: always, flushInterval: 100ms, batchSize: 50 }\n`);
    const first = await startCli(config);
    let kill!: () => void;
    const killed = new Promise<void>((r) => (kill = r));
    let progress = 0;
    const load = driveLoad(first.url, 0, { concurrency: 6, until: killed, onAnswer: (count) => (progress = count) });
    // Progress, not time, decides when to kill: a loaded machine answers slowly.
    for (let waited = 0; progress < 60 && waited < 20_000; waited += 20) await sleep(20);
    first.child.kill('SIGKILL');
    kill();
    const beforeKill = await load;
    assert.equal(await exitCode(first.child), null, 'killed by a signal, not exited');

    const second = await startCli(config);
    const afterRestart = await driveLoad(second.url, 30, { concurrency: 3 });
    assert.equal(afterRestart.failed, 0);
    second.child.kill('SIGTERM');
    assert.equal(await exitCode(second.child), 0);
    assert.deepEqual(readdirSync(spoolDir), [], 'a clean stop ships the spool empty');

    // The gateway is gone, so the folder can be opened here.
    const db = await openDatabase({ url: null, dataDir, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      const stored = await storedIds(db);
      // An answer's last bytes go out only after its record was written and synced (issue 15;
      // docs/usage.md, Durability), so every answer counts, up to the last one before the kill.
      const settled = beforeKill.ids;
      assert.ok(settled.length >= 20, `only ${settled.length} answers before the kill`);
      assert.deepEqual([...settled, ...afterRestart.ids].filter((id) => !stored.has(id)), [], 'every answered request has its record');
      const totals = await storedTotals(db);
      assert.equal(totals.count, totals.distinct, 'each request stored once');
      const answered = [...beforeKill.ids, ...afterRestart.ids].filter((id) => stored.has(id));
      const extra = totals.count - answered.length;
      assert.ok(extra >= 0 && extra <= 6, `${extra} records of unanswered requests`);
    } finally {
      await db.close();
    }
  });
});
