import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { configSecrets } from '../../src/config/secrets.js';

test('every secret the config holds is scrubbed by the compiled config redactor (issue 15)', () => {
  const raw = {
    providers: {
      oa: { type: 'openai', baseUrl: 'http://proxyuser:proxy-pass-123456@127.0.0.1:9/v1', apiKey: 'provider-key-abcdef12', headers: { 'x-org-token': 'header-secret-987654' } },
      an: { type: 'anthropic', apiKey: 'anthropic-key-1234567' },
    },
    routes: [{ match: '*', targets: [{ provider: 'oa' }] }],
    keys: [{ name: 'c', key: 'client-key-0123456789' }],
    admin: { tokens: ['admin-token-0123456789'] },
    auth: { jwt: { secret: 'jwt-secret-0123456789-0123456789-0123' } },
    tracing: { endpoint: 'http://127.0.0.1:4318/v1/traces', headers: { 'api-key': 'collector-key-012345' } },
    state: { redis: 'redis://:redis-pass-0123@127.0.0.1:6379' },
    database: { url: 'postgres://sluice:db-pass-012345@127.0.0.1/sluice' },
  };
  const config = compileConfig(validateConfig(raw, 'test', {}), 'test');
  const expected = ['provider-key-abcdef12', 'header-secret-987654', 'anthropic-key-1234567', 'client-key-0123456789', 'admin-token-0123456789', 'jwt-secret-0123456789-0123456789-0123', 'collector-key-012345', 'redis-pass-0123', 'db-pass-012345', 'proxy-pass-123456'];
  const found = configSecrets(validateConfig(raw, 'test', {}));
  for (const s of expected) {
    assert.ok(found.includes(s), `${s} is collected`);
    assert.equal(config.redactor.scrub(`upstream said ${s}!`), 'upstream said [redacted]!');
  }
});
