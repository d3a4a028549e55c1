import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const ADMIN = 'admin-token-0123456789abcdef';
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const call = (gw: TestGateway, method: 'GET' | 'POST' | 'DELETE', path: string, token: string | null, body?: unknown) => req.sendJson(gw, path, { method, bearer: token, body });

/** Runs the CLI without blocking this process, which hosts the gateway it talks to. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const chat = (gw: TestGateway, key: string) => call(gw, 'POST', '/v1/chat/completions', key, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] });

describe('virtual keys through the admin API (embedded SQLite)', () => {
  let gw: TestGateway;
  const created: string[] = [];
  before(async () => {
    gw = await startGateway({ admin: { tokens: [ADMIN] }, auth: { required: true }, database: { embedded: 'memory' }, tiers: { pro: { limits: { rpm: 2 } } } });
  });
  after(() => gw.close());

  test('the admin API needs an admin token, and a client key is not one', async () => {
    assert.equal((await call(gw, 'GET', '/admin/keys', null)).status, 401);
    assert.equal((await call(gw, 'GET', '/admin/keys', 'sk-sluice-not-an-admin-token')).json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
    assert.equal((await call(gw, 'GET', '/admin/keys', ADMIN)).status, 200);
  });

  test('create, use with its tier limits, list without the value, rotate, revoke', async () => {
    const made = await call(gw, 'POST', '/admin/keys', ADMIN, { name: 'brand-ranker', tier: 'pro', user: 'u-1', metadata: { team: 'ranking' } });
    assert.equal(made.status, 201);
    const key = String(made.json.key);
    created.push(key);
    assert.match(key, /^sk-sluice-[A-Za-z0-9_-]{43}$/);
    assert.equal((await chat(gw, key)).status, 200);
    assert.equal((await chat(gw, key)).status, 200);
    assert.equal((await chat(gw, key)).status, 429, 'the pro tier allows 2 per minute');

    const list = await call(gw, 'GET', '/admin/keys', ADMIN);
    const entry = (list.json.data as Record<string, unknown>[]).find((k) => k.id === made.json.id)!;
    assert.equal(entry.name, 'brand-ranker');
    assert.equal(entry.prefix, key.slice(0, 14));
    assert.ok(!JSON.stringify(list.json).includes(key), 'the list never shows a key value');

    const rotated = await call(gw, 'POST', `/admin/keys/${String(made.json.id)}/rotate`, ADMIN);
    const newKey = String(rotated.json.key);
    created.push(newKey);
    assert.notEqual(newKey, key);
    assert.equal((await chat(gw, key)).status, 401, 'the old value stops working');
    assert.equal((await call(gw, 'DELETE', `/admin/keys/${String(made.json.id)}`, ADMIN)).status, 200);
    assert.equal((await chat(gw, newKey)).status, 401, 'a revoked key stops working');
    assert.equal((await call(gw, 'DELETE', `/admin/keys/${String(made.json.id)}`, ADMIN)).json.error?.code, 'SLUICE_ERR_KEY_NOT_FOUND');
  });

  test('bad key definitions are coded 400s', async () => {
    const bad = await call(gw, 'POST', '/admin/keys', ADMIN, { name: 'x', limits: { rpm: 0 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
  });

  test('sluice keys create / list talk to the admin API', async () => {
    const env = { ...process.env, SLUICE_URL: gw.url, SLUICE_ADMIN_TOKEN: ADMIN };
    const made = await cli(['keys', 'create', '--name', 'from-cli', '--tier', 'pro'], env);
    assert.equal(made.status, 0, made.stderr);
    const key = made.stdout.trim();
    created.push(key);
    assert.match(key, /^sk-sluice-/);
    assert.match(made.stderr, /not shown again/);
    const list = await cli(['keys', 'list'], env);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /from-cli\tsk-sluice-/);
    assert.ok(!list.stdout.includes(key));
    const noToken = await cli(['keys', 'list', '--url', gw.url], { ...process.env, SLUICE_ADMIN_TOKEN: '' });
    assert.equal(noToken.status, 2);
  });

  test('no key value is in the database or the log, only hashes', async () => {
    assert.ok(created.length >= 3);
    const rows = await gw.gateway.database!.query('SELECT * FROM api_keys');
    const dump = JSON.stringify(rows);
    for (const key of created) {
      assert.ok(!dump.includes(key), 'a key value is stored in plain text');
      assert.ok(!gw.logs.join('\n').includes(key), 'a key value reached the log');
    }
    assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(String(r.key_hash))));
    assert.ok(!gw.logs.join('\n').includes(ADMIN));
  });
});
