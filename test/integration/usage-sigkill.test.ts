import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { exitCode, killChildren, startCli } from '../helpers/cli.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { driveLoad, storedIds, storedTotals } from '../helpers/usage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('usage records survive a SIGKILL of the gateway (fsync: always)', () => {
  let server: PostgresServer;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-kill-'));
  });
  after(async () => {
    killChildren();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every request answered before the kill is stored once after a restart, even those spooled while PostgreSQL was down', async () => {
    const spoolDir = join(dir, 'spool');
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `database: { url: "${server.url}" }\nusage: { spoolDir: "${spoolDir}", fsync: always, flushInterval: 100ms, batchSize: 50 }\n`);
    const db = new PostgresDatabase({ url: server.url, poolSize: 2, statementTimeoutMs: 5_000 });
    try {
      const first = await startCli(config);
      let kill!: () => void;
      const killed = new Promise<void>((r) => (kill = r));
      // Progress, not time, decides when to halt and kill: a loaded machine answers slowly.
      let progress = 0;
      const reached = async (n: number): Promise<void> => {
        for (let waited = 0; progress < n && waited < 20_000; waited += 20) await sleep(20);
      };
      const load = driveLoad(first.url, 0, { concurrency: 6, until: killed, onAnswer: (count) => (progress = count) });
      await reached(20);
      // Records from here on can only wait in the spool.
      await server.halt();
      await reached(progress + 20);
      await sleep(100);
      const killedAt = performance.now();
      first.child.kill('SIGKILL');
      kill();
      const before = await load;
      assert.equal(await exitCode(first.child), null, 'killed by a signal, not exited');
      assert.ok(readdirSync(spoolDir).some((f) => f.endsWith('.jsonl')), 'the spool holds what the database did not get');

      await server.resume();
      const second = await startCli(config);
      const afterRestart = await driveLoad(second.url, 30, { concurrency: 3 });
      assert.equal(afterRestart.failed, 0);
      second.child.kill('SIGTERM');
      assert.equal(await exitCode(second.child), 0);

      const stored = await storedIds(db);
      // An answer's last bytes go out only after its record was written and synced (issue 15;
      // docs/usage.md, Durability), so every answer counts, up to the last one before the kill.
      const settled = before.ids;
      assert.ok(settled.length >= 20, `only ${settled.length} answers before the kill`);
      const missing = [...settled, ...afterRestart.ids].filter((id) => !stored.has(id));
      const describe = (id: string): string => {
        const i = before.ids.indexOf(id);
        return i >= 0 ? `${id}: answered ${(killedAt - before.answeredAt[i]!).toFixed(1)} ms before the kill` : `${id}: answered by the restarted gateway`;
      };
      assert.deepEqual(missing.map(describe), [], `every answered request has its record; spool: ${readdirSync(spoolDir).join(', ')}`);
      const totals = await storedTotals(db);
      assert.equal(totals.count, totals.distinct);
      // Beyond those, at most the requests in flight at the kill (ended on the gateway, cut
      // before their answer reached the client) may have a record.
      const answered = [...before.ids, ...afterRestart.ids].filter((id) => stored.has(id));
      const extra = totals.count - answered.length;
      assert.ok(extra >= 0 && extra <= 6, `${extra} records of unanswered requests`);
      const [sums] = (await db.query<{ prompt: number; completion: number }>('SELECT sum(prompt_tokens)::int AS prompt, sum(completion_tokens)::int AS completion FROM usage_records WHERE request_id = ANY($1)', [answered]));
      const expected = { prompt: 0, completion: 0 };
      for (const id of answered) {
        const t = before.tokens.get(id) ?? afterRestart.tokens.get(id)!;
        expected.prompt += t.prompt;
        expected.completion += t.completion;
      }
      assert.deepEqual(sums, expected, 'stored tokens equal what the answers reported');
      assert.deepEqual(readdirSync(spoolDir), [], 'a clean stop ships the spool empty');
    } finally {
      await db.close();
    }
  });
});

describe('usage records survive a SIGKILL of the gateway (default config)', () => {
  let server: PostgresServer;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-kill-default-'));
  });
  after(async () => {
    killChildren();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Issue 15: the default policy kept records in memory for up to a flushInterval, so a kill
  // right after the last answer lost the last few (5 of 20 in the report).
  test('a kill -9 right after the 20th of 20 sequential answers loses none of their records', async () => {
    const spoolDir = join(dir, 'spool');
    const config = join(dir, 'sluice.yaml');
    // Only where the data goes is set; fsync and flushInterval are the defaults.
    writeFileSync(config, `database: { url: "${server.url}" }\nusage: { spoolDir: "${spoolDir}" }\n`);
    const db = new PostgresDatabase({ url: server.url, poolSize: 2, statementTimeoutMs: 5_000 });
    try {
      const first = await startCli(config);
      const answered = await driveLoad(first.url, 20, { concurrency: 1 });
      first.child.kill('SIGKILL');
      assert.equal(answered.failed, 0);
      assert.equal(answered.ids.length, 20);
      assert.equal(await exitCode(first.child), null, 'killed by a signal, not exited');

      const second = await startCli(config);
      second.child.kill('SIGTERM');
      assert.equal(await exitCode(second.child), 0);
      const stored = await storedIds(db);
      assert.deepEqual(answered.ids.filter((id) => !stored.has(id)), [], 'every answered request has its record');
      assert.equal((await storedTotals(db)).count, 20);
    } finally {
      await db.close();
    }
  });
});
