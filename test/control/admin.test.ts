import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const ADMIN = 'admin-token-0123456789abcdef';
const CONFIG_KEY = 'sk-config-key-0123456789abcdef';

const call = (gw: TestGateway, method: 'GET' | 'POST' | 'DELETE', path: string, body?: string) =>
  req.sendJson(gw, path, { method, bearer: ADMIN, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } });

describe('the admin API refuses what the database or the config cannot take, with coded 4xx (issue 15)', () => {
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-admin-'));
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      tiers: { pro: {} },
      keys: [{ name: 'from-config', key: CONFIG_KEY, tier: 'pro' }],
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms' },
    });
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('regression: NUL or a lone surrogate in admin paths gave 500; now 400', async () => {
    for (const [method, path] of [['POST', '/admin/keys/%00/rotate'], ['DELETE', '/admin/keys/%00'], ['DELETE', '/admin/keys/a%00b']] as const) {
      const res = await call(gw, method, path);
      assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
      assert.equal(res.json.error?.param, 'path.id');
    }
  });

  test('regression (found by the fuzz test): a key id over 100 characters gave 500 with nothing logged once fastify framework errors were mapped; now 400', async () => {
    for (const [method, path] of [['DELETE', `/admin/keys/${'x'.repeat(500)}`], ['POST', `/admin/keys/${'x'.repeat(101)}/rotate`]] as const) {
      const res = await call(gw, method, path);
      assert.equal(res.status, 400, `${method}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_PATH');
    }
  });

  test('regression: /admin/usage?model=%00 gave 503 SLUICE_ERR_DATABASE_UNAVAILABLE (paging an operator for a typo); now 400', async () => {
    for (const path of ['/admin/usage?model=%00', '/admin/usage/requests?user=a%00', '/admin/usage?tier=x%00y']) {
      const res = await call(gw, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
      assert.match(String(res.json.error?.param), /^query\./);
    }
    assert.equal((await call(gw, 'GET', '/admin/usage?model=gpt-4o')).status, 200);
  });

  test('regression: NUL or a lone surrogate in admin bodies gave 500; now 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['{"name":"k\\u0000"}', 'body.name'],
      ['{"name":"ok","user":"\\ud800"}', 'body.user'],
      ['{"name":"ok","metadata":{"team":"a\\u0000"}}', 'body.metadata.team'],
      ['{"name":"ok","metadata":{"\\udc00":1}}', 'body.metadata.\udc00'],
    ];
    for (const [body, param] of cases) {
      const res = await call(gw, 'POST', '/admin/keys', body);
      assert.equal(res.status, 400, `${body}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.param, param);
    }
    const deep = await call(gw, 'POST', '/admin/keys', `{"name":"deep","metadata":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`);
    assert.equal(deep.status, 400, JSON.stringify(deep.json));
    assert.equal(deep.json.error?.code, 'SLUICE_ERR_JSON_TOO_DEEP');
  });

  test('regression: the admin API accepted an unknown tier and a duplicate key name that config check refuses', async () => {
    const unknown = await call(gw, 'POST', '/admin/keys', JSON.stringify({ name: 'tiered', tier: 'enterprise' }));
    assert.equal(unknown.status, 400, JSON.stringify(unknown.json));
    assert.equal(unknown.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
    assert.equal(unknown.json.error?.param, 'tier');
    assert.equal((await call(gw, 'POST', '/admin/keys', JSON.stringify({ name: 'tiered', tier: 'pro' }))).status, 201);
    assert.equal((await call(gw, 'POST', '/admin/keys', JSON.stringify({ name: 'tiered-default' }))).status, 201, 'no tier means the default tier');

    const dup = await call(gw, 'POST', '/admin/keys', JSON.stringify({ name: 'tiered' }));
    assert.equal(dup.status, 400, JSON.stringify(dup.json));
    assert.equal(dup.json.error?.param, 'name');
    const dupOfConfig = await call(gw, 'POST', '/admin/keys', JSON.stringify({ name: 'from-config' }));
    assert.equal(dupOfConfig.status, 400, 'a config key name is taken too');
  });

  test('regression: rotating or revoking a config key answered 404 although keys list shows it; now 409 SLUICE_ERR_CONFIG_KEY', async () => {
    const list = await call(gw, 'GET', '/admin/keys');
    const configKey = (list.json.data as { id: string; source: string }[]).find((k) => k.source === 'config')!;
    for (const [method, path] of [['POST', `/admin/keys/${configKey.id}/rotate`], ['DELETE', `/admin/keys/${configKey.id}`]] as const) {
      const res = await call(gw, method, path);
      assert.equal(res.status, 409, `${method} ${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_CONFIG_KEY');
      assert.match(res.json.error!.message, /config file/);
    }
    assert.equal((await call(gw, 'DELETE', '/admin/keys/no-such-key')).json.error?.code, 'SLUICE_ERR_KEY_NOT_FOUND');
  });

  test('no error was logged for any of this client input', () => {
    assert.deepEqual(gw.logs.filter((l) => l.includes('"level":50')), []);
  });
});
