import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startPostgres, startReplica, type PostgresServer } from '../helpers/postgres.js';
import { driveLoad, storedIds, storedTotals } from '../helpers/usage.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('usage records on a PostgreSQL server', () => {
  let server: PostgresServer;
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-pg-'));
    gw = await startGateway({ database: { url: server.url, statementTimeout: '2s' }, usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms', batchSize: 25 } });
  });
  after(async () => {
    await gw?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('count and token sums of stored records equal the requests served and the mock usage', async () => {
    const served = await driveLoad(gw.url, 90, { concurrency: 8 });
    assert.equal(served.failed, 0);
    await gw.gateway.usage!.drain();
    assert.deepEqual(await storedTotals(gw.gateway.database!), { count: 90, distinct: 90, prompt: served.prompt, completion: served.completion });
  });

  test('PostgreSQL stopped in the middle of a load: the gateway serves on, and once it is back no record is lost or duplicated', async () => {
    const db = gw.gateway.database!;
    await db.query('DELETE FROM usage_records');
    let endLoad!: () => void;
    const loadDone = new Promise<void>((r) => (endLoad = r));
    let answered = 0;
    const load = driveLoad(gw.url, 0, { concurrency: 4, until: loadDone, onAnswer: (n) => (answered = n) });
    // Each phase waits for what it needs to have happened, not for a guessed time.
    await waitFor(() => answered >= 10, '10 answers before the stop');
    await server.halt();
    const failuresBefore = gw.gateway.usage!.stats.failures;
    await waitFor(() => gw.gateway.usage!.stats.failures > failuresBefore, 'the writer to see the database go away');
    const whileDown = answered;
    await waitFor(() => answered >= whileDown + 10, '10 answers while the database is down');
    const ready = await request(`${gw.url}/ready`);
    assert.equal(ready.statusCode, 200, 'still ready: records wait in the spool');
    assert.equal(((await ready.body.json()) as { usage: { healthy: boolean } }).usage.healthy, false);
    await server.resume();
    const afterResume = answered;
    await waitFor(() => answered >= afterResume + 10, '10 answers after the database is back');
    endLoad();
    const served = await load;
    assert.equal(served.failed, 0, 'the request path never waits on the database');
    await gw.gateway.usage!.drain();
    const totals = await storedTotals(db);
    assert.deepEqual(totals, { count: served.ids.length, distinct: served.ids.length, prompt: served.prompt, completion: served.completion });
    assert.deepEqual(await storedIds(db), new Set(served.ids));
  });
});

describe('usage API reads from a streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    primary = await startPostgres();
    replica = await startReplica(primary);
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-replica-'));
    gw = await startGateway({ admin: { tokens: [ADMIN] }, database: { url: primary.url, replicas: [replica.url] }, usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms' } });
  });
  after(async () => {
    await gw?.close();
    await replica?.stop();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const total = async (): Promise<number> => {
    const res = await request(`${gw.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { data: { requests: number }[] };
    return body.data[0]?.requests ?? 0;
  };

  test('reads go to the replica, and to the primary when the replica is stopped', async () => {
    const standby = new pg.Client({ connectionString: replica.url });
    await standby.connect();
    try {
      assert.equal((await standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r, true, 'the replica is a standby');
      await driveLoad(gw.url, 30);
      await gw.gateway.usage!.drain();
      for (let i = 0; ; i++) {
        const { rows } = await standby.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_records');
        if (rows[0]!.n === 30) break;
        assert.ok(i < 400, 'the replica did not catch up');
        await sleep(50);
      }
      assert.equal(await total(), 30);
      // Replay paused: the replica stops seeing new records, the primary has them.
      await standby.query('SELECT pg_wal_replay_pause()');
      await driveLoad(gw.url, 9);
      await gw.gateway.usage!.drain();
      assert.equal((await storedTotals(gw.gateway.database!)).count, 39);
      assert.equal(await total(), 30, 'the read went to the (paused) replica');
    } finally {
      await standby.end();
    }
    await replica.halt();
    assert.equal(await total(), 39, 'with the replica down the read falls back to the primary');
  });
});
