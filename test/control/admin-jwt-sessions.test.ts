import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

// Issue 22: GET /admin/sessions tells the console whether JWT session revocation is on (so it
// offers its revoke form only then), and follows a reload that turns it on.

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';

const base = {
  admin: { tokens: [ADMIN, { name: 'dash', token: VIEWER, role: 'viewer' }] },
  database: { embedded: 'memory' },
  providers: { m: { type: 'mock' } },
  routes: [{ match: '*', targets: [{ provider: 'm' }] }],
};

describe('GET /admin/sessions', () => {
  const gateways: TestGateway[] = [];
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
  });

  test('says revocation is on, with the claims and how long a revocation is kept; any role may read it, nobody without a token', async () => {
    const gw = await startGateway({ ...base, auth: { jwt: { secret: SECRET, revocation: true, sessionClaim: 'session_id', revocationTtl: '2h' } } });
    gateways.push(gw);
    const read = await req.sendJson(gw, '/admin/sessions', { bearer: VIEWER });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json, { object: 'sessions', jwt: true, revocation: true, userClaim: 'sub', sessionClaim: 'session_id', revocationTtlSeconds: 7200 });
    const anonymous = await req.sendJson(gw, '/admin/sessions');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
  });

  test('says it is off without auth.jwt or without revocation, and follows a reload that turns it on', async () => {
    const jwtOff = await startGateway(base);
    gateways.push(jwtOff);
    assert.deepEqual((await req.sendJson(jwtOff, '/admin/sessions', { bearer: VIEWER })).json, { object: 'sessions', jwt: false, revocation: false, userClaim: null, sessionClaim: null, revocationTtlSeconds: null });

    const on = { ...base, server: { port: 0 }, usage: { enabled: false }, auth: { jwt: { secret: SECRET, revocation: true } } };
    const gw = await startGateway({ ...base, auth: { jwt: { secret: SECRET } } }, {}, { load: () => compileConfig(validateConfig(on, 'test', {}), 'test') });
    gateways.push(gw);
    assert.deepEqual((await req.sendJson(gw, '/admin/sessions', { bearer: ADMIN })).json, { object: 'sessions', jwt: true, revocation: false, userClaim: 'sub', sessionClaim: 'sid', revocationTtlSeconds: null });
    // While off, the revoke route answers the catalog's 404, as the page explains instead of offering a form.
    assert.equal((await req.sendJson(gw, '/admin/sessions/revoke', { method: 'POST', bearer: ADMIN, body: '{"user":"u1"}', headers: { 'content-type': 'application/json' } })).status, 404);

    assert.equal((await req.sendJson(gw, '/admin/config/reload', { method: 'POST', bearer: ADMIN })).status, 200);
    const reloaded = await req.sendJson(gw, '/admin/sessions', { bearer: ADMIN });
    assert.equal(reloaded.json.revocation, true);
    assert.equal(reloaded.json.revocationTtlSeconds, 86_400);
    assert.equal((await req.sendJson(gw, '/admin/sessions/revoke', { method: 'POST', bearer: ADMIN, body: '{"user":"u1"}', headers: { 'content-type': 'application/json' } })).status, 200);
  });
});
