import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type KeyObject } from 'jose';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

const chat = (gw: TestGateway, token: string) => req.chatJson(gw, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }, { bearer: token });

const hs = (claims: Record<string, unknown>, exp = '15m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('brand-ranker').setAudience('sluice').setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

describe('JWT bearer tokens (HS256)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ auth: { jwt: { secret: SECRET, issuer: 'brand-ranker', audience: 'sluice' } }, tiers: { pro: { limits: { rpm: 100 } } } });
  });
  after(() => gw.close());

  test('a valid token is served; sub and tier become the principal', async () => {
    assert.equal((await chat(gw, await hs({ sub: 'user-42', tier: 'pro' }))).status, 200);
    const requestLine = () => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    await waitFor(() => requestLine() !== undefined, 'the request log line');
    const line = requestLine();
    assert.equal(line?.principal, 'jwt:user-42');
    assert.equal(line?.tier, 'pro');
  });

  test('expired, wrong audience, wrong issuer are refused with the reason', async () => {
    const expired = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('brand-ranker').setAudience('sluice').setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(SECRET));
    const r1 = await chat(gw, expired);
    assert.equal(r1.status, 401);
    assert.match(r1.json.error!.message, /expired/);
    const wrongAud = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('brand-ranker').setAudience('someone-else').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
    const r2 = await chat(gw, wrongAud);
    assert.equal(r2.status, 401);
    assert.match(r2.json.error!.message, /aud/);
    const wrongIss = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('mallory').setAudience('sluice').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
    const r3 = await chat(gw, wrongIss);
    assert.equal(r3.status, 401);
    assert.match(r3.json.error!.message, /iss/);
  });

  test('alg none and a bad signature are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', iss: 'brand-ranker', aud: 'sluice', exp: now + 600 })}.`;
    assert.equal((await chat(gw, none)).status, 401);
    const good = await hs({ sub: 'u' });
    const tampered = good.slice(0, good.lastIndexOf('.') + 1) + 'AAAA' + good.slice(good.lastIndexOf('.') + 5);
    assert.equal((await chat(gw, tampered)).status, 401);
  });
});

describe('JWT bearer tokens (RS256 via JWKS)', () => {
  let gw: TestGateway;
  let jwks: http.Server;
  let privateKey: CryptoKey | KeyObject;
  let publicPem: string;
  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const { port } = jwks.address() as AddressInfo;
    gw = await startGateway({ auth: { jwt: { jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, audience: 'sluice' } } });
  });
  after(async () => {
    await gw.close();
    await new Promise((r) => jwks.close(r));
  });

  const rs = (kid: string) => new SignJWT({ sub: 'user-7' }).setProtectedHeader({ alg: 'RS256', kid }).setAudience('sluice').setExpirationTime('5m').sign(privateKey);

  test('a token signed by a key in the JWKS is served', async () => {
    assert.equal((await chat(gw, await rs('key-1'))).status, 200);
  });

  test('an unknown kid is refused', async () => {
    const r = await chat(gw, await rs('key-unknown'));
    assert.equal(r.status, 401);
    assert.match(r.json.error!.message, /kid/);
  });

  test('HS256 signed with the RSA public key (algorithm confusion) is refused', async () => {
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: 'key-1' });
    const payload = b64({ sub: 'attacker', aud: 'sluice', exp: Math.floor(Date.now() / 1000) + 600 });
    const sig = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    const r = await chat(gw, `${header}.${payload}.${sig}`);
    assert.equal(r.status, 401);
  });
});
