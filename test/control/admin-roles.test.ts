import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

// Issue 20: admin tokens with roles (viewer, keys, admin) and an audit log of every change.

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const KEYS = 'keys-token-0123456789abcdef';

interface Entry {
  id: string;
  at: string;
  actor: string;
  role: string;
  method: string;
  action: string;
  target: string | null;
  status: number;
  ip: string;
  requestId: string;
  detail: string | null;
}
interface Page {
  data: Entry[];
  has_more: boolean;
  last_id: string | null;
}

const call = (gw: TestGateway, token: string | null, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
  req.sendJson(gw, path, { method, bearer: token, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { 'content-type': 'application/json' } });

describe('admin roles and the audit log', () => {
  let gw: TestGateway;
  /** Key values the admin API answered with: none may reach the audit log. */
  const secrets: string[] = [];
  before(async () => {
    gw = await startGateway({
      // A bare token is an admin named token-1; named tokens carry a role.
      admin: { tokens: [ADMIN, { name: 'dashboard', token: VIEWER, role: 'viewer' }, { name: 'key-bot', token: KEYS, role: 'keys' }] },
      database: { embedded: 'memory' },
      routes: [{ match: '*', cache: { ttl: '1m' }, targets: [{ provider: 'mock' }] }],
      providers: { mock: { type: 'mock' } },
    });
  });
  after(async () => {
    await gw.close();
  });

  test('a viewer reads everything and changes nothing; a key manager manages keys only; an admin does everything', async () => {
    assert.equal((await call(gw, VIEWER, 'GET', '/admin/keys')).status, 200);
    assert.equal((await call(gw, VIEWER, 'GET', '/admin/cache')).status, 200);
    assert.equal((await call(gw, VIEWER, 'GET', '/admin/audit')).status, 200);
    const refused = await call(gw, VIEWER, 'POST', '/admin/keys', { name: 'by-viewer' });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error?.code, 'SLUICE_ERR_ADMIN_FORBIDDEN');
    assert.match(String(refused.json.error?.message), /"dashboard" has the role viewer/);
    assert.equal((await call(gw, VIEWER, 'POST', '/admin/cache/purge', {})).status, 403);

    const created = await call(gw, KEYS, 'POST', '/admin/keys', { name: 'by-bot' });
    assert.equal(created.status, 201);
    const id = String(created.json.id);
    const rotated = await call(gw, KEYS, 'POST', `/admin/keys/${id}/rotate`);
    assert.equal(rotated.status, 200);
    secrets.push(String(created.json.key), String(rotated.json.key));
    assert.equal((await call(gw, KEYS, 'POST', '/admin/cache/purge', {})).status, 403);
    assert.equal((await call(gw, KEYS, 'DELETE', `/admin/keys/${id}`)).status, 200);

    assert.equal((await call(gw, ADMIN, 'POST', '/admin/cache/purge', {})).status, 200);
    const byAdmin = await call(gw, ADMIN, 'POST', '/admin/keys', { name: 'by-admin' });
    assert.equal(byAdmin.status, 201);
    secrets.push(String(byAdmin.json.key));
    // No token, or a wrong one: 401, and nothing is written for it.
    assert.equal((await call(gw, null, 'POST', '/admin/keys', { name: 'anon' })).status, 401);
    assert.equal((await call(gw, 'wrong-token-0123456789abcdef', 'POST', '/admin/keys', { name: 'anon' })).status, 401);
  });

  test('the audit log names who changed what, when, from where and how it ended, newest first, never a key value', async () => {
    const page = await call(gw, VIEWER, 'GET', '/admin/audit');
    assert.equal(page.status, 200);
    const entries = (page.json as unknown as Page).data;
    const summary = entries.map((e) => `${e.actor}/${e.role} ${e.method} ${e.action} ${e.status}`);
    assert.deepEqual(summary, [
      'token-1/admin POST /admin/keys 201',
      'token-1/admin POST /admin/cache/purge 200',
      'key-bot/keys DELETE /admin/keys/:id 200',
      'key-bot/keys POST /admin/cache/purge 403',
      'key-bot/keys POST /admin/keys/:id/rotate 200',
      'key-bot/keys POST /admin/keys 201',
      'dashboard/viewer POST /admin/cache/purge 403',
      'dashboard/viewer POST /admin/keys 403',
    ]);
    for (const e of entries) {
      assert.equal(e.ip, '127.0.0.1');
      assert.ok(Date.now() - Date.parse(e.at) < 60_000, e.at);
      assert.match(e.requestId, /^[0-9a-f-]{36}$/);
    }
    const rotate = entries[4]!;
    assert.notEqual(rotate.target, null);
    assert.equal(entries[2]!.target, rotate.target);
    assert.equal(JSON.parse(entries[5]!.detail!).name, 'by-bot');
    // The keys created and rotated were in answers only: none of their values is in the log.
    assert.equal(secrets.length, 3);
    for (const s of secrets) {
      assert.match(s, /^sk-sluice-/);
      assert.ok(!page.text.includes(s.slice(10)), 'a key value is in the audit log');
    }
  });

  test('the audit API pages back with before and limit, and refuses a bad limit with a coded 400', async () => {
    const first = (await call(gw, ADMIN, 'GET', '/admin/audit?limit=3')).json as unknown as Page;
    assert.equal(first.data.length, 3);
    assert.equal(first.has_more, true);
    const second = (await call(gw, ADMIN, 'GET', `/admin/audit?limit=100&before=${first.last_id}`)).json as unknown as Page;
    assert.equal(second.data.length, 5);
    assert.equal(second.has_more, false);
    assert.ok(second.data.every((e) => e.id < first.last_id!));
    const bad = await call(gw, ADMIN, 'GET', '/admin/audit?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
    assert.equal(bad.json.error?.param, 'query.limit');
  });
});

test('a duplicate admin token name is refused by the config check', async () => {
  await assert.rejects(startGateway({ admin: { tokens: [{ name: 'a', token: VIEWER, role: 'viewer' }, { name: 'a', token: KEYS }] } }), /duplicate admin token name "a"/);
});
