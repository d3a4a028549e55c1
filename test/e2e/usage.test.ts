import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { Writable } from 'node:stream';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { PriceBook } from '../../src/tokens/prices.js';
import { insertUsage, pruneUsage } from '../../src/accounting/store.js';
import { UsageWriter } from '../../src/accounting/writer.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { driveLoad, storedIds, storedTotals } from '../helpers/usage.js';

const ADMIN = 'admin-token-0123456789abcdef';
const KEY_A = 'sk-test-key-a-0123456789';
const KEY_B = 'sk-test-key-b-0123456789';

/** An OpenAI-compatible upstream that never reports usage. */
function startBareUpstream(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'bare', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there, friend' }, finish_reason: 'stop' }] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const admin = (gw: TestGateway, path: string, token: string | null = ADMIN): Promise<req.JsonReply<Record<string, unknown>>> => req.sendJson(gw, path, { bearer: token });

describe('usage records in embedded SQLite, and the usage API', () => {
  let gw: TestGateway;
  let dir: string;
  let upstream: MockServer;
  let bare: http.Server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-usage-'));
    upstream = await startMockServer();
    bare = await startBareUpstream();
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      keys: [
        { name: 'a', key: KEY_A, tier: 'free', user: 'u-a' },
        { name: 'b', key: KEY_B, tier: 'pro', user: 'u-b' },
      ],
      tiers: { free: {}, pro: {} },
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms', batchSize: 7 },
      providers: { mock: { type: 'mock' }, http: { type: 'openai', baseUrl: upstream.url }, bare: { type: 'openai', baseUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1` } },
      routes: [
        { match: 'mock-1', targets: [{ provider: 'mock' }] },
        { match: 'via-http', targets: [{ provider: 'http', model: 'mock-1' }] },
        { match: 'bare', targets: [{ provider: 'bare', model: 'gpt-4o' }] },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
    bare?.closeAllConnections();
    await new Promise((r) => bare?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await gw.gateway.usage!.drain();
    await gw.gateway.database!.query('DELETE FROM usage_records');
  });

  test('one record per request; counts and token sums equal what was served', async () => {
    const served = await driveLoad(gw.url, 60, { concurrency: 6, headers: { authorization: `Bearer ${KEY_A}` } });
    assert.equal(served.failed, 0);
    await gw.gateway.usage!.drain();
    const db = gw.gateway.database!;
    assert.deepEqual(await storedTotals(db), { count: 60, distinct: 60, prompt: served.prompt, completion: served.completion });
    assert.deepEqual(await storedIds(db), new Set(served.ids));
    const [row] = await db.query<Record<string, unknown>>("SELECT * FROM usage_records WHERE endpoint = 'chat' AND stream LIMIT 1");
    assert.equal(row!.principal, 'key:config:a');
    assert.equal(row!.user_id, 'u-a');
    assert.equal(row!.tier, 'free');
    assert.equal(row!.provider, 'mock');
    assert.equal(row!.status, 200);
    // SQLite keeps booleans as 0/1 (the usage API shows them as booleans).
    assert.equal(Boolean(row!.estimated), false);
    assert.ok(Number(row!.latency_ms) >= Number(row!.ttfb_ms));
  });

  test('an OpenAI-compatible stream is asked for its usage upstream, which the client that did not ask never sees, and the record has it', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'via-http', stream: true, max_tokens: 6, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.ok(!text.includes('"usage":{'), 'no usage chunk for a client that did not ask');
    await gw.gateway.usage!.drain();
    const [row] = await gw.gateway.database!.query<{ prompt_tokens: number; completion_tokens: number; estimated: number }>('SELECT prompt_tokens, completion_tokens, estimated FROM usage_records');
    assert.equal(Boolean(row!.estimated), false);
    assert.equal(row!.completion_tokens, 6);
    assert.ok(row!.prompt_tokens > 0);
  });

  test('an upstream that reports no usage: tokens counted with the tokenizer, the record marked estimated, priced', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY_B}` }, body: JSON.stringify({ model: 'bare', messages: [{ role: 'user', content: 'Hello world' }] }) });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    await gw.gateway.usage!.drain();
    const [row] = await gw.gateway.database!.query<Record<string, unknown>>('SELECT * FROM usage_records');
    assert.equal(Boolean(row!.estimated), true);
    assert.equal(row!.prompt_tokens, 8);
    assert.equal(row!.completion_tokens, 4);
    assert.equal(row!.target_model, 'gpt-4o');
    // gpt-4o: $2.5 / $10 per million.
    assert.equal(row!.cost_usd, (8 * 2.5 + 4 * 10) / 1e6);
  });

  test('GET /admin/usage groups by key, model, tier and time bucket, within from/to', async () => {
    const a = await driveLoad(gw.url, 12, { headers: { authorization: `Bearer ${KEY_A}` } });
    const b = await driveLoad(gw.url, 6, { headers: { authorization: `Bearer ${KEY_B}` } });
    await gw.gateway.usage!.drain();

    assert.equal((await admin(gw, '/admin/usage', null)).status, 401);
    assert.equal((await admin(gw, '/admin/usage', KEY_A)).status, 401, 'a client key is not an admin token');

    const byKey = await admin(gw, '/admin/usage?group_by=key,model');
    assert.equal(byKey.status, 200);
    const rows = byKey.json.data as Record<string, number | string>[];
    assert.deepEqual(
      rows.map((r) => [r.key, r.model, r.requests, r.prompt_tokens, r.completion_tokens, r.errors]).sort(),
      [
        ['key:config:a', 'mock-1', 12, a.prompt, a.completion, 0],
        ['key:config:b', 'mock-1', 6, b.prompt, b.completion, 0],
      ],
    );

    const byTier = await admin(gw, '/admin/usage?group_by=tier&bucket=hour');
    const tiers = byTier.json.data as { tier: string; bucket: string; requests: number }[];
    assert.deepEqual(tiers.map((r) => [r.tier, r.requests]).sort(), [['free', 12], ['pro', 6]]);
    assert.match(tiers[0]!.bucket, /^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);

    const total = await admin(gw, '/admin/usage?user=u-b');
    assert.equal((total.json.data as { requests: number }[])[0]!.requests, 6);
    const future = await admin(gw, `/admin/usage?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    assert.equal((future.json.data as { requests: number }[])[0]!.requests, 0);

    const bad = await admin(gw, '/admin/usage?group_by=key,colour');
    assert.equal(bad.status, 400);
    assert.equal((bad.json.error as { code: string; param: string }).param, 'group_by[1]');
  });

  test('regression (issue 15): 100 requests sharing one x-request-id leave 100 records, and tenant B reusing A\'s ids keeps B\'s', async () => {
    const send = async (key: string, id: string): Promise<void> => {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify({ model: 'mock-1', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-request-id'], id, 'the client id is still echoed');
      await res.body.text();
    };
    for (let i = 0; i < 100; i++) await send(KEY_A, 'same-id-every-time');
    for (let i = 0; i < 10; i++) await send(KEY_A, `a-${i}`);
    // Tenant B sends tenant A's ids: before, each was a conflict, and B's records were dropped.
    for (let i = 0; i < 10; i++) await send(KEY_B, `a-${i}`);
    await gw.gateway.usage!.drain();
    const byKey = await admin(gw, '/admin/usage?group_by=key');
    assert.deepEqual(
      (byKey.json.data as { key: string; requests: number }[]).map((r) => [r.key, r.requests]).sort(),
      [
        ['key:config:a', 110],
        ['key:config:b', 10],
      ],
    );
    const page = await admin(gw, '/admin/usage/requests?limit=500&key=key:config:a');
    const records = page.json.data as { id: string; request_id: string }[];
    assert.equal(records.filter((r) => r.request_id === 'same-id-every-time').length, 100, 'the client id is kept as an attribute');
    assert.equal(new Set(records.map((r) => r.id)).size, 110, 'each record has its own id');
  });

  test('a replayed batch stores nothing twice; retention deletes old records', async () => {
    await driveLoad(gw.url, 5, { headers: { authorization: `Bearer ${KEY_A}` } });
    await gw.gateway.usage!.drain();
    const db = gw.gateway.database!;
    const rows = await db.query<Record<string, unknown>>('SELECT * FROM usage_records');
    const old = { ...rows[0]!, id: 'old-one', request_id: 'old-one', started_at: '2000-01-01T00:00:00.000Z' };
    const batch = [...rows.map((r) => JSON.stringify({ ...r, started_at: new Date(r.started_at as Date).toISOString() })), JSON.stringify(old)];
    assert.equal(await insertUsage(db, batch), 1, 'only the new record is stored');
    assert.equal(await insertUsage(db, batch), 0, 'a replay stores nothing');
    assert.equal(await pruneUsage(db, new Date(Date.now() - 86_400_000)), 1);
    assert.equal((await storedTotals(db)).count, 5);
  });

  test('a spooled line the database refuses (not JSON, a wrong type, a field missing) is dropped, and the rest of its batch is stored', async () => {
    await driveLoad(gw.url, 4, { headers: { authorization: `Bearer ${KEY_A}` } });
    await gw.gateway.usage!.drain();
    const db = gw.gateway.database!;
    const rows = await db.query<Record<string, unknown>>('SELECT * FROM usage_records ORDER BY request_id');
    await db.query('DELETE FROM usage_records');
    const line = (r: Record<string, unknown>, extra: Record<string, unknown> = {}) => JSON.stringify({ ...r, started_at: new Date(r.started_at as Date).toISOString(), ...extra });
    const { request_id: _dropped, ...noId } = rows[3]!;
    // A segment left by an earlier run: four good lines around three the database refuses.
    const spoolDir = join(dir, 'replay-spool');
    mkdirSync(spoolDir);
    writeFileSync(join(spoolDir, '000000000001.jsonl'), [line(rows[0]!), '{"request_id": "torn-in-the-mid', line(rows[1]!, { status: 'two hundred' }), line(rows[1]!), line(noId), line(rows[2]!), line(rows[3]!), ''].join('\n'));
    const logger = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
    const writer = new UsageWriter({ enabled: true, spoolDir, batchSize: 50, flushIntervalMs: 60_000, fsync: 'never', retentionMs: null }, db, new PriceBook(), systemClock, logger);
    await writer.drain();
    await writer.stop(1000);
    assert.deepEqual([...(await storedIds(db))].sort(), rows.map((r) => r.request_id as string).sort());
    assert.equal(writer.stats.stored, 4);
    assert.equal(writer.stats.dropped, 3);
    assert.deepEqual(readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl')), [], 'the segment is done with');
  });

  test('GET /admin/usage/requests pages through the log, newest first, each record once', async () => {
    const served = await driveLoad(gw.url, 23, { headers: { authorization: `Bearer ${KEY_A}` } });
    await gw.gateway.usage!.drain();
    const seen: string[] = [];
    let starts: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await admin(gw, `/admin/usage/requests?limit=5${cursor === null ? '' : `&cursor=${cursor}`}`);
      assert.equal(page.status, 200);
      const data = page.json.data as { request_id: string; started_at: string }[];
      assert.ok(data.length <= 5);
      seen.push(...data.map((r) => r.request_id));
      starts = [...starts, ...data.map((r) => r.started_at)];
      cursor = page.json.next_cursor as string | null;
    } while (cursor !== null);
    assert.equal(seen.length, 23);
    assert.deepEqual(new Set(seen), new Set(served.ids));
    assert.deepEqual(starts, [...starts].sort().reverse(), 'newest first');
    assert.equal((await admin(gw, '/admin/usage/requests?cursor=nonsense')).status, 400);
    assert.equal((await admin(gw, '/admin/usage/requests?limit=0')).status, 400);
  });
});
