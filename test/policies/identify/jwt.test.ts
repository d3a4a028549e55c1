import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/load.js';
import { SluiceError } from '../../../src/errors.js';
import { JwtVerifier } from '../../../src/policies/identify/jwt.js';

const SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';
const tiers = new Set(['default']);

function verifier(jwt: Record<string, unknown>): JwtVerifier {
  const config = compileConfig(validateConfig({ auth: { jwt: { secret: SECRET, ...jwt } } }, 'test', {}), 'test');
  return new JwtVerifier(config.auth.jwt!);
}

const sign = (withExp: boolean): Promise<string> => {
  const jwt = new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (withExp) jwt.setExpirationTime('15m');
  return jwt.sign(new TextEncoder().encode(SECRET));
};

describe('JWT expiry is required (issue 15)', () => {
  test('regression: a token without exp is refused with 401 when maxAge is not set', async () => {
    await assert.rejects(verifier({}).verify(await sign(false), tiers), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_ERR_UNAUTHORIZED');
      assert.equal(err.status, 401);
      assert.match(err.message, /"exp"/);
      return true;
    });
  });

  test('a token with exp is accepted', async () => {
    const p = await verifier({}).verify(await sign(true), tiers);
    assert.equal(p.user, 'user-1');
  });

  test('requireExp: false accepts a token without exp (operators that rely on maxAge)', async () => {
    const p = await verifier({ requireExp: false, maxAge: '15m' }).verify(await sign(false), tiers);
    assert.equal(p.id, 'jwt:user-1');
  });
});
