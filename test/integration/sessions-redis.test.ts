import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

// Issue 22 (seeds 000 and 004): a revoked session, or every session of a user, is refused at
// once on every instance sharing the state store.

const SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';
const ADMIN = 'admin-token-0123456789abcdef';
const KEYS_ROLE = 'keys-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

const nowSec = (): number => Math.floor(Date.now() / 1000);

function token(claims: Record<string, unknown>, issuedAt: number = nowSec()): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(issuedAt).setExpirationTime(issuedAt + 900).sign(new TextEncoder().encode(SECRET));
}

const chat = async (gw: TestGateway, bearer: string): Promise<number> => (await req.chat(gw, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }, { bearer })).status;
const revoke = (gw: TestGateway, bearer: string, body: unknown) => req.sendJson(gw, '/admin/sessions/revoke', { method: 'POST', bearer, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('JWT session revocation across instances sharing Redis', () => {
  let redis: RedisServer;
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    redis = await startRedis();
    const config = {
      state: { redis: redis.url, prefix: 'sessions-test:', timeout: '2s' },
      auth: { required: true, jwt: { secret: SECRET, revocation: true } },
      admin: { tokens: [ADMIN, { name: 'auth-service', token: KEYS_ROLE, role: 'keys' }, { name: 'dash', token: VIEWER, role: 'viewer' }] },
      database: { embedded: 'memory' },
    };
    [a, b] = await Promise.all([startGateway(config), startGateway(config)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  test('one session, then every session of a user, refused at once on the other instance; others unaffected', async () => {
    const s1 = await token({ sub: 'u1', sid: 's1' });
    const s2 = await token({ sub: 'u1', sid: 's2' });
    const other = await token({ sub: 'u2', jti: 'j3' });
    for (const gw of [a, b]) for (const t of [s1, s2, other]) assert.equal(await chat(gw, t), 200);

    assert.deepEqual((await revoke(a, KEYS_ROLE, { session: 's1' })).json, { revoked: 'session' });
    assert.equal(await chat(b, s1), 401);
    assert.equal(await chat(a, s1), 401);
    assert.equal(await chat(b, s2), 200);

    // "Sign out everywhere" on the other instance: every token of u1 issued up to now.
    assert.equal((await revoke(b, ADMIN, { user: 'u1' })).status, 200);
    assert.equal(await chat(a, s2), 401);
    const refused = await req.chatJson(a, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }, { bearer: s2 });
    assert.equal(refused.json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
    assert.match(String(refused.json.error?.message), /sessions were revoked/);
    assert.equal(await chat(a, other), 200);
    // A token the auth service issues after the revocation works (issued in a later second).
    assert.equal(await chat(b, await token({ sub: 'u1', sid: 's4' }, nowSec() + 2)), 200);

    // A token without `sid` is revoked by its `jti`.
    await revoke(a, KEYS_ROLE, { session: 'j3' });
    assert.equal(await chat(b, other), 401);
  });

  test('revocation requests are checked: exactly one of session and user, and a role that may change keys', async () => {
    for (const body of [{}, { session: 's', user: 'u' }, { session: '' }, { sid: 's' }]) {
      const res = await revoke(a, ADMIN, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
    }
    const viewer = await revoke(a, VIEWER, { session: 'x' });
    assert.equal(viewer.status, 403);
    assert.equal(viewer.json.error?.code, 'SLUICE_ERR_ADMIN_FORBIDDEN');
  });
});
