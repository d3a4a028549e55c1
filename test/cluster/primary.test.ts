import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Agent, request } from 'undici';
import { exitCode, killChildren, startCli } from '../helpers/cli.js';
import { HeldUpstream, metricValue, waitFor } from '../helpers/wait.js';
import { toUsageRecord } from '../../src/accounting/record.js';
import { Spool } from '../../src/accounting/spool.js';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { RequestContext } from '../../src/exchange/context.js';
import { summarize } from '../../src/exchange/summary.js';
import { PriceBook } from '../../src/tokens/prices.js';

/**
 * `server.workers` (issue 19): a real `sluice start` with two workers under its primary.
 * Every request goes on a connection of its own, so the primary's round robin spreads them
 * over both workers (the request log says which served each); what must hold across them is
 * what holds across instances sharing Redis: limits, the cache and its coalescing, usage
 * records, metrics, reloads.
 */

const KEY = 'sk-cluster-test-0123456789';
const OPEN = 'sk-cluster-open-0123456789';
const ADMIN = 'admin-cluster-test-0123456789';

function configText(upstream: string, extraRoute: boolean): string {
  return [
    'server: { workers: 2, drainTimeout: 5s }',
    `admin: { tokens: ["${ADMIN}"] }`,
    `keys: [ { key: "${KEY}", name: limited, limits: { rpm: 10 } }, { key: "${OPEN}", name: open } ]`,
    'providers:',
    '  mock: { type: mock }',
    `  held: { type: openai, baseUrl: "${upstream}", apiKey: sk-upstream }`,
    'routes:',
    '  - match: "gpt-*"',
    '    targets: [ { provider: mock } ]',
    '  - match: "cached-*"',
    '    targets: [ { provider: held, model: held } ]',
    '    cache: { ttl: 10m }',
    ...(extraRoute ? ['  - match: "extra-*"', '    targets: [ { provider: mock } ]'] : []),
    '',
  ].join('\n');
}

/** One request on a connection of its own (the primary hands each new connection to the next worker). */
async function chat(url: string, model: string, auth: string | null, content = 'hello'): Promise<{ status: number; cache: string | undefined; body: string }> {
  const dispatcher = new Agent({ pipelining: 0 });
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: `Bearer ${auth}` }) },
      body: JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }] }),
    });
    const body = await res.body.text();
    const cache = res.headers['x-sluice-cache'];
    return { status: res.statusCode, cache: typeof cache === 'string' ? cache : undefined, body };
  } finally {
    await dispatcher.close();
  }
}

async function metrics(url: string): Promise<string> {
  const dispatcher = new Agent();
  try {
    const res = await request(`${url}/metrics`, { dispatcher });
    return await res.body.text();
  } finally {
    await dispatcher.close();
  }
}

/** Which workers served requests, from the request log lines. */
function servedBy(output: string): Set<number> {
  const workers = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.includes('"msg":"request"')) continue;
    const m = /"worker":(\d+)/.exec(line);
    if (m !== null) workers.add(Number(m[1]));
  }
  return workers;
}

/** The pids of `parent`'s child processes (its workers), from /proc. */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: the command may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(name));
    } catch {
      // The process ended while listed.
    }
  }
  return pids;
}

describe('server.workers: two workers behind one primary', () => {
  let dir: string;
  let upstream: HeldUpstream;
  let sluice: Awaited<ReturnType<typeof startCli>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
    upstream = await new HeldUpstream().start();
    writeFileSync(join(dir, 'sluice.yaml'), configText(upstream.url, false));
    // The embedded database and the usage spool (.sluice/ by default) in the test's own folder.
    sluice = await startCli(join(dir, 'sluice.yaml'), { cwd: dir });
  });

  after(async () => {
    killChildren();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a key limited to 10 requests a minute gets exactly 10 across both workers', async () => {
    const results = [];
    for (let i = 0; i < 24; i++) results.push(await chat(sluice.url, 'gpt-4o', KEY));
    assert.equal(results.filter((r) => r.status === 200).length, 10);
    assert.equal(results.filter((r) => r.status === 429).length, 14);
    await waitFor(() => servedBy(sluice.output()).size === 2, 'request log lines from both workers');
  });

  it('identical requests on both workers make one upstream call; later ones are hits on either worker', async () => {
    const first = chat(sluice.url, 'cached-a', OPEN, 'same question');
    await waitFor(() => upstream.held === 1, 'the leader to reach the upstream');
    const followers = Array.from({ length: 5 }, () => chat(sluice.url, 'cached-a', OPEN, 'same question'));
    // Followers join the leader's flight through the primary (or, coming after it, read its
    // entry): either way no second upstream call. Their connections open first.
    await waitFor(async () => (metricValue(await metrics(sluice.url), 'sluice_open_connections', '') ?? 0) >= 6, 'the followers to connect');
    // All at once: were the workers not sharing, a second call would be answered too, and counted.
    upstream.releaseAll();
    const answers = await Promise.all([first, ...followers]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(new Set(answers.map((a) => JSON.parse(a.body).choices[0].message.content as string)).size, 1);
    assert.equal(answers[0]!.cache, 'miss');
    for (const a of answers.slice(1)) assert.ok(a.cache === 'coalesced' || a.cache === 'hit', `follower answered ${a.cache}`);
    for (let i = 0; i < 4; i++) assert.equal((await chat(sluice.url, 'cached-a', OPEN, 'same question')).cache, 'hit');
    assert.equal(upstream.seen.length, 1, 'one upstream call for 10 identical requests over two workers');
  });

  it('/metrics on any worker counts every worker’s requests', async () => {
    const text = await metrics(sluice.url);
    const byStatus = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^sluice_requests_total\{.*status="(\d+)".*\} (\d+)$/.exec(line);
      if (m !== null) byStatus.set(m[1]!, (byStatus.get(m[1]!) ?? 0) + Number(m[2]));
    }
    // 10 + 6 + 4 answered, 14 limited: each worker counted its own, the primary added them up.
    assert.equal(byStatus.get('200'), 20);
    assert.equal(byStatus.get('429'), 14);
    // The shared cache's figures are the one LRU's, not one per worker added up.
    await waitFor(async () => metricValue(await metrics(sluice.url), 'sluice_cache_entries', '') === 1, 'the cache gauge to read one entry');
  });

  it('SIGHUP to the primary reloads every worker', async () => {
    writeFileSync(join(dir, 'sluice.yaml'), configText(upstream.url, true));
    sluice.child.kill('SIGHUP');
    // The gauge is the oldest version any worker serves: 2 only once both reloaded.
    await waitFor(async () => metricValue(await metrics(sluice.url), 'sluice_config_version', '') === 2, 'both workers on version 2', 30_000);
    for (let i = 0; i < 4; i++) assert.equal((await chat(sluice.url, 'extra-1', OPEN)).status, 200, 'the new route on every worker');
  });

  it('a killed worker is replaced and serving goes on', async () => {
    const before = childPids(sluice.child.pid!);
    assert.equal(before.length, 2, `two workers, found ${before.join(', ')}`);
    process.kill(before[0]!, 'SIGKILL');
    await waitFor(() => /a worker exited; starting another/.test(sluice.output()), 'the primary to see the exit');
    await waitFor(() => /a replacement worker is serving/.test(sluice.output()), 'the replacement to listen');
    const now = childPids(sluice.child.pid!);
    assert.equal(now.length, 2);
    assert.ok(!now.includes(before[0]!));
    await waitFor(async () => (await chat(sluice.url, 'extra-2', OPEN)).status === 200, 'a request to be served');
  });

  it('SIGTERM drains both workers; every usage record is in the embedded database', async () => {
    sluice.child.kill('SIGTERM');
    assert.equal(await exitCode(sluice.child), 0);
    const db = new BetterSqlite3(join(dir, '.sluice', 'data', 'sluice.db'), { readonly: true });
    try {
      const { n } = db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number };
      const answered = (sluice.output().match(/"msg":"request"/g) ?? []).length;
      assert.ok(answered >= 30, `request log lines: ${answered}`);
      assert.equal(n, answered, `one usage record per answered request, through the primary; the gateway's other log lines:\n${sluice.output().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n')}`);
    } finally {
      db.close();
    }
  });

  it('restarted as one process, it stores what a worker slot that does not run any more left in its spool', async () => {
    // A worker killed before it shipped, in a slot the next layout does not have (worker 5).
    const spoolRoot = join(dir, '.sluice', 'usage-spool');
    const left = new Spool(join(spoolRoot, 'worker-5'), 'interval');
    for (let i = 0; i < 3; i++) {
      const ctx = new RequestContext(`left-by-worker-5-${i}`, 'chat', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, orphanRoute, 0);
      ctx.status = 200;
      ctx.endedAt = 1;
      left.append(JSON.stringify(toUsageRecord(summarize(ctx), new PriceBook(), Date.now(), null)));
    }
    await left.close();
    writeFileSync(join(dir, 'sluice.yaml'), configText(upstream.url, false).replace('workers: 2', 'workers: 1'));
    const single = await startCli(join(dir, 'sluice.yaml'), { cwd: dir });
    try {
      await waitFor(() => /usage records left by an earlier worker layout were stored/.test(single.output()) && !readdirSync(spoolRoot).some((n) => n.startsWith('worker-')), 'the worker folders to be adopted and removed');
    } finally {
      single.child.kill('SIGTERM');
      assert.equal(await exitCode(single.child), 0);
    }
    const db = new BetterSqlite3(join(dir, '.sluice', 'data', 'sluice.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT request_id FROM usage_records WHERE request_id LIKE 'left-by-worker-5-%' ORDER BY request_id").all() as { request_id: string }[];
      assert.deepEqual(
        rows.map((r) => r.request_id),
        ['left-by-worker-5-0', 'left-by-worker-5-1', 'left-by-worker-5-2'],
      );
    } finally {
      db.close();
    }
  });
});

const orphanRoute = compileConfig(validateConfig({ usage: { enabled: false } }, 'test', {}), 'test').routes[0]!;
