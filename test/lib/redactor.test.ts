import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { Redactor } from '../../src/lib/redactor.js';

describe('Redactor', () => {
  const r = new Redactor(['my-provider-key-123', 'admin"token\\with-escapes', 'short', 'my-provider-key-123-longer']);

  test('configured secrets, as written and JSON-escaped; the longer of two overlapping ones whole', () => {
    assert.equal(r.scrub('bad key my-provider-key-123!'), 'bad key [redacted]!');
    assert.equal(r.scrub('x my-provider-key-123-longer y'), 'x [redacted] y');
    assert.equal(r.scrub(JSON.stringify({ m: 'got admin"token\\with-escapes' })), '{"m":"got [redacted]"}');
  });

  test('secrets shorter than 8 characters are not scrubbed as text (they would match words)', () => {
    assert.equal(r.scrub('a short message'), 'a short message');
  });

  test('credential shapes the config does not know', () => {
    const plain = new Redactor([]);
    assert.equal(plain.scrub('Incorrect API key provided: sk-proj-abcdefghijklmnop1234.'), 'Incorrect API key provided: [redacted].');
    assert.equal(plain.scrub('x-api-key sk-ant-api03-AbCdEf0123456789'), 'x-api-key [redacted]');
    assert.equal(plain.scrub('Authorization: Bearer abc.def-123456789'), 'Authorization: Bearer [redacted]');
    assert.equal(plain.scrub('API key not valid: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'), 'API key not valid: [redacted]');
    assert.equal(plain.scrub('jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl'), 'jwt [redacted]');
    assert.equal(plain.scrub('invalid token: 0a1b2c3d4e5f6a7b8c9d0e1f2a3b'), 'invalid token: [redacted]');
    assert.equal(plain.scrub('{"api_key":"0a1b2c3d4e5f6a7b8c9d0e1f2a3b"}'), '{"api_key":"[redacted]"}');
  });

  test('ordinary text, short ids and principal ids (key:<uuid>) are left alone, as the same string', () => {
    const plain = new Redactor([]);
    for (const text of ['The upstream provider answered 429.', '{"model":"token-counter-model-with-a-long-name"}', 'secret-santa-assistant-model-v2-large', '{"principal":"key:5f0c7c1e-6a43-4b8e-9d0a-3c2b1a0f9e8d"}', 'prefix sk-sluice-AbCd', 'tokens: 1234', 'a key: short']) {
      assert.equal(plain.scrub(text), text);
    }
  });

  test('never prints what it holds', () => {
    assert.ok(!inspect(r).includes('my-provider'));
    assert.ok(!JSON.stringify({ r }).includes('my-provider'));
  });
});
