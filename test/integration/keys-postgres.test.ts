import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { migrations } from '../../src/db/migrations.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const ADMIN = 'admin-token-0123456789abcdef';

const call = (gw: TestGateway, method: 'GET' | 'POST' | 'DELETE', path: string, token: string, body?: unknown) => req.sendJson(gw, path, { method, bearer: token, body });

const chat = (gw: TestGateway, key: string) => call(gw, 'POST', '/v1/chat/completions', key, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] });

describe('virtual keys on a PostgreSQL server shared by two instances', () => {
  let pgServer: PostgresServer;
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    pgServer = await startPostgres();
    const config = { admin: { tokens: [ADMIN] }, auth: { required: true, keyCacheTtl: '200ms' }, database: { url: pgServer.url } };
    // Both migrate at once: the migration lock makes one apply and the other find it done.
    [a, b] = await Promise.all([startGateway(config), startGateway(config)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await pgServer?.stop();
  });

  test('the schema was migrated once', async () => {
    const rows = await a.gateway.database!.query<{ id: number }>('SELECT id FROM sluice_migrations ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      migrations.map((m) => m.id),
    );
    assert.equal(a.gateway.database!.kind, 'postgres');
  });

  test('a key created on one instance works on the other; a revocation reaches both within the cache TTL', async () => {
    const made = await call(a, 'POST', '/admin/keys', ADMIN, { name: 'shared', tier: 'default' });
    assert.equal(made.status, 201);
    const key = String(made.json.key);
    assert.equal((await chat(b, key)).status, 200);
    assert.equal((await call(b, 'DELETE', `/admin/keys/${String(made.json.id)}`, ADMIN)).status, 200);
    assert.equal((await chat(b, key)).status, 401, 'the revoking instance forgets at once');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(a, key)).status, 401, 'the other instance after its cache TTL');
    const rows = await a.gateway.database!.query('SELECT * FROM api_keys');
    assert.ok(!JSON.stringify(rows).includes(key), 'only the hash is stored');
  });
});
