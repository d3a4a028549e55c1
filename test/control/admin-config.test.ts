import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { maskedConfig } from '../../src/control/admin-config.js';

// Issue 20: GET /admin/config shows the running config with every secret masked.

const SECRETS = {
  providerKey: 'sk-provider-0123456789abcdefghij',
  header: 'abc', // shorter than the redactor's minimum: masked because it is a header value
  jwt: 'jwt-secret-0123456789-0123456789-0123456789',
  client: 'sk-client-key-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
  redisPassword: 'redis-pass-0123456789',
  dbPassword: 'db-pass-0123456789',
  tracing: 'trace-token-0123456789',
  oidc: 'oidc-client-secret-0123456789',
};

test('every secret of the config is masked, and what is not secret is shown', () => {
  const config = compileConfig(
    validateConfig(
      {
        providers: { up: { type: 'openai', baseUrl: 'https://api.example.com/v1', apiKey: SECRETS.providerKey, headers: { 'x-org': SECRETS.header } } },
        routes: [{ name: 'main', match: '*', targets: [{ provider: 'up', model: 'gpt-4o' }] }],
        auth: { jwt: { secret: SECRETS.jwt } },
        keys: [{ name: 'client', key: SECRETS.client }],
        admin: {
          tokens: [SECRETS.admin],
          oidc: { issuer: 'https://id.example.com', clientId: 'sluice', clientSecret: SECRETS.oidc, redirectUrl: 'https://gw.example.com/console/callback', roles: { ops: 'admin' } },
        },
        state: { redis: `redis://default:${SECRETS.redisPassword}@redis.internal:6379/0` },
        database: { url: `postgres://sluice:${SECRETS.dbPassword}@db.internal:5432/sluice` },
        tracing: { endpoint: 'https://otel.example.com/v1/traces', headers: { authorization: `Bearer ${SECRETS.tracing}` } },
      },
      'sluice.yaml',
      {},
    ),
    'sluice.yaml',
  );
  const masked = maskedConfig(config) as Record<string, Record<string, unknown>>;
  const text = JSON.stringify(masked);
  for (const [name, secret] of Object.entries(SECRETS)) if (name !== 'header') assert.equal(text.includes(secret), false, `${name} leaked`);
  const up = (masked.providers!.up as Record<string, unknown>)!;
  assert.equal(up.apiKey, '[redacted]');
  assert.deepEqual(up.headers, { 'x-org': '[redacted]' });
  assert.equal(up.origin, 'https://api.example.com');
  assert.equal(((masked.state!.redis as Record<string, unknown>).url as string), 'redis://default:[redacted]@redis.internal:6379/0');
  assert.equal((masked.database!.url as string), 'postgres://sluice:[redacted]@db.internal:5432/sluice');
  assert.equal(((masked.auth!.jwt as Record<string, unknown>).secret), '[redacted]');
  assert.equal((masked.adminOidc as unknown as Record<string, unknown>).clientSecret, '[redacted]');
  assert.equal((masked.adminOidc as unknown as Record<string, unknown>).clientId, 'sluice');
  assert.equal(((masked.keys as unknown as Record<string, unknown>[])[0]!).hash, '[redacted]');
  assert.equal(((masked.routes as unknown as Record<string, unknown>[])[0]!).name, 'main');
  // Not data: the redactor and the price table's class are left out; Sets become arrays.
  assert.equal('redactor' in masked, false);
  assert.equal('prices' in masked, false);
  assert.ok(Array.isArray(((masked.routes as unknown as Record<string, Record<string, unknown>>[])[0]!).retry!.on));
});
