/**
 * Stored keys while PostgreSQL is away (issue 15): a real server, stopped mid-test. Before,
 * a known key failed with 500 SLUICE_ERR_INTERNAL once its cache entry expired, and unknown
 * keys and /admin/keys failed with 500 at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import * as req from '../../helpers/requests.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';

const ADMIN = 'admin-token-0123456789abcdef';

const call = (gw: TestGateway, method: 'GET' | 'POST', path: string, token: string, body?: unknown) => req.sendJson(gw, path, { method, bearer: token, body });

const chat = (gw: TestGateway, key: string) => call(gw, 'POST', '/v1/chat/completions', key, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] });

describe('regression (issue 15): stored keys during a PostgreSQL outage', () => {
  let pg: PostgresServer;
  let gw: TestGateway;
  const clock = new FakeClock();
  before(async () => {
    pg = await startPostgres();
    gw = await startGateway({ admin: { tokens: [ADMIN] }, auth: { required: true, keyCacheTtl: '10s' }, usage: { enabled: false }, database: { url: pg.url, statementTimeout: '2s' } }, {}, { clock });
  });
  after(async () => {
    await gw?.close();
    await pg?.stop();
  });

  test('a known key keeps working from its cached entry, an unknown key gets 503, the admin API answers SLUICE_ERR_DATABASE_UNAVAILABLE; all recover', async () => {
    const created = await call(gw, 'POST', '/admin/keys', ADMIN, { name: 'outage' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const key = created.json.key as string;
    assert.equal((await chat(gw, key)).status, 200);

    await pg.halt();
    clock.advance(60_000); // well past the key cache's 10 s
    assert.equal((await chat(gw, key)).status, 200, 'the known key is served from its last answer');
    assert.equal((await chat(gw, key)).status, 200);

    const unknown = await chat(gw, 'sk-never-seen-0123456789');
    assert.equal(unknown.status, 503);
    assert.equal(unknown.json.error?.code, 'SLUICE_ERR_DATABASE_UNAVAILABLE');
    for (const res of [await call(gw, 'GET', '/admin/keys', ADMIN), await call(gw, 'POST', '/admin/keys', ADMIN, { name: 'during' })]) {
      assert.equal(res.status, 503);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_DATABASE_UNAVAILABLE');
    }

    await pg.resume();
    clock.advance(60_000);
    assert.equal((await chat(gw, key)).status, 200);
    assert.equal((await chat(gw, 'sk-never-seen-0123456789')).status, 401, 'an unknown key is refused as such again');
    const listed = await call(gw, 'GET', '/admin/keys', ADMIN);
    assert.equal(listed.status, 200);
    assert.equal((listed.json.data as unknown[]).length, 1);
  });
});
