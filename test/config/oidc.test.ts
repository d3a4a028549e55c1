import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { ConfigError, formatProblem, validateConfig } from '../../src/config/load.js';

// Issue 20: `admin.oidc`, console sign-in through OpenID Connect.

const good = {
  issuer: 'https://id.example.com/realms/ops',
  clientId: 'sluice',
  clientSecret: 'oidc-client-secret-0123456789',
  redirectUrl: 'https://gateway.example.com/console/callback',
  roles: { 'sluice-admins': 'admin' },
};

function problems(oidc: Record<string, unknown>): string[] {
  try {
    validateConfig({ admin: { oidc } }, 'test', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map(formatProblem);
  }
  return [];
}

test('a valid admin.oidc compiles with its defaults, a Secure cookie for https, and the secret kept as a Secret', () => {
  const config = compileConfig(validateConfig({ admin: { oidc: good } }, 'test', {}), 'test');
  const o = config.adminOidc!;
  assert.deepEqual(o.scopes, ['openid', 'email', 'profile']);
  assert.equal(o.roleClaim, 'groups');
  assert.equal(o.sessionTtlMs, 8 * 3_600_000);
  assert.equal(o.secureCookie, true);
  assert.equal(String(o.clientSecret), '[redacted]');
  assert.equal(JSON.stringify(o).includes(good.clientSecret), false);
  // Logs and upstream errors never carry the client secret either.
  assert.equal(config.redactor.scrub(`secret ${good.clientSecret}`).includes(good.clientSecret), false);
  assert.equal(compileConfig(validateConfig({}, 'test', {}), 'test').adminOidc, null);
});

test('an http issuer is refused unless it is a loopback one allowed for tests', () => {
  assert.match(problems({ ...good, issuer: 'http://id.example.com' }).join('\n'), /admin\.oidc\.issuer.*must be an https URL/);
  assert.match(problems({ ...good, issuer: 'http://id.example.com', insecureLoopbackIssuer: true }).join('\n'), /admin\.oidc\.issuer/);
  assert.deepEqual(problems({ ...good, issuer: 'http://127.0.0.1:9999', insecureLoopbackIssuer: true }), []);
});

test('the redirect URL must be the callback path; scopes need openid; roles must map something', () => {
  assert.match(problems({ ...good, redirectUrl: 'https://gateway.example.com/callback' }).join('\n'), /admin\.oidc\.redirectUrl.*\/console\/callback/);
  assert.match(problems({ ...good, redirectUrl: 'http://gateway.example.com/console/callback' }).join('\n'), /admin\.oidc\.redirectUrl.*https/);
  assert.match(problems({ ...good, scopes: ['email'] }).join('\n'), /admin\.oidc\.scopes.*openid/);
  assert.match(problems({ ...good, roles: {} }).join('\n'), /admin\.oidc\.roles/);
  assert.match(problems({ ...good, roles: { x: 'owner' } }).join('\n'), /admin\.oidc\.roles\.x/);
  assert.match(problems({ ...good, sessionTtl: '10s' }).join('\n'), /admin\.oidc\.sessionTtl/);
  assert.match(problems({ ...good, extra: 1 }).join('\n'), /extra/);
});
