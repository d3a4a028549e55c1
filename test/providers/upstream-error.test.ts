import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../../src/errors.js';
import { mapUpstreamError } from '../../src/upstream/errors.js';
import { upstreamStatusError } from '../../src/providers/upstream-error.js';

function withCode(code: string, message = `failed with ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

function mapped(err: unknown, afterHeaders = false): SluiceError {
  const out = mapUpstreamError(err, 'openai', afterHeaders);
  assert.ok(out instanceof SluiceError, `expected a SluiceError, got ${String(out)}`);
  return out;
}

describe('mapUpstreamError', () => {
  test('ECONNREFUSED before headers: upstream unreachable, cause kept', () => {
    const err = withCode('ECONNREFUSED');
    const out = mapped(err);
    assert.equal(out.code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE');
    assert.equal(out.status, 502);
    assert.equal(out.message, 'Provider "openai" could not be reached (ECONNREFUSED).');
    assert.equal(out.cause, err);
  });

  test('other connection codes before headers are unreachable', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']) {
      const out = mapped(withCode(code));
      assert.equal(out.code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE', code);
      assert.equal(out.message, `Provider "openai" could not be reached (${code}).`);
    }
  });

  test('timeouts, before or after headers, name what was awaited', () => {
    const cases: [string, string][] = [
      ['UND_ERR_HEADERS_TIMEOUT', 'waiting for the first byte'],
      ['UND_ERR_CONNECT_TIMEOUT', 'connecting'],
      ['UND_ERR_BODY_TIMEOUT', 'waiting for the next chunk'],
      ['ETIMEDOUT', 'waiting for the next chunk'],
    ];
    for (const [code, what] of cases) {
      for (const afterHeaders of [false, true]) {
        const out = mapped(withCode(code), afterHeaders);
        assert.equal(out.code, 'SLUICE_ERR_UPSTREAM_TIMEOUT', code);
        assert.equal(out.status, 504);
        assert.equal(out.message, `Provider "openai" timed out ${what}.`);
      }
    }
  });

  test('UND_ERR_SOCKET after headers: stream interrupted', () => {
    const err = withCode('UND_ERR_SOCKET');
    const out = mapped(err, true);
    assert.equal(out.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.equal(out.status, 502);
    assert.equal(out.message, 'The stream from provider "openai" broke off (UND_ERR_SOCKET).');
    assert.equal(out.cause, err);
  });

  test('an error without a code after headers: stream interrupted, "connection lost"', () => {
    const out = mapped(new Error('terminated'), true);
    assert.equal(out.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.equal(out.message, 'The stream from provider "openai" broke off (connection lost).');
  });

  test('a code nested in cause is found (fetch failed → cause ECONNREFUSED)', () => {
    const err = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') });
    const out = mapped(err);
    assert.equal(out.code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE');
    assert.equal(out.message, 'Provider "openai" could not be reached (ECONNREFUSED).');
    assert.equal(out.cause, err);
    const deep = new Error('outer', { cause: new Error('middle', { cause: withCode('UND_ERR_HEADERS_TIMEOUT') }) });
    assert.equal(mapped(deep).code, 'SLUICE_ERR_UPSTREAM_TIMEOUT');
  });

  test('an unknown error before headers: unreachable with its message', () => {
    assert.equal(mapped(new Error('boom')).message, 'Provider "openai" failed: boom.');
    assert.equal(mapped(withCode('EWHATEVER', 'odd')).message, 'Provider "openai" failed: odd.');
    assert.equal(mapped('a string').message, 'Provider "openai" failed: a string.');
    assert.equal(mapped(null).message, 'Provider "openai" failed: null.');
    assert.equal(mapped(null).code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE');
  });

  test('AbortError passes through unchanged', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    assert.equal(mapUpstreamError(abort, 'openai', false), abort);
    assert.equal(mapUpstreamError(abort, 'openai', true), abort);
    const plain = Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ECONNRESET' });
    assert.equal(mapUpstreamError(plain, 'openai', false), plain);
  });

  test('a SluiceError passes through unchanged', () => {
    const err = new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
    assert.equal(mapUpstreamError(err, 'openai', false), err);
    assert.equal(mapUpstreamError(err, 'openai', true), err);
  });
});

describe('upstreamStatusError', () => {
  test('an OpenAI error body: message, code and type kept; status and Retry-After kept', () => {
    const body = JSON.stringify({ error: { message: 'Rate limit reached for gpt-4o', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const err = upstreamStatusError(429, body, '20');
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.equal(err.status, 429);
    assert.equal(err.type, 'upstream_error');
    assert.equal(err.message, 'Upstream 429: Rate limit reached for gpt-4o');
    assert.deepEqual(err.headers, { 'retry-after': '20' });
    assert.deepEqual(err.upstream, { status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    assert.deepEqual(err.toBody(), {
      error: {
        message: 'Upstream 429: Rate limit reached for gpt-4o',
        type: 'upstream_error',
        code: 'SLUICE_ERR_UPSTREAM_STATUS',
        param: null,
        upstream: { status: 429, code: 'rate_limit_exceeded', type: 'requests' },
      },
    });
  });

  test('no Retry-After: no headers', () => {
    const err = upstreamStatusError(500, '{"error":{"message":"oops"}}', null);
    assert.equal(err.headers, null);
    assert.equal(err.status, 500);
    assert.deepEqual(err.upstream, { status: 500, code: null, type: null });
  });

  test('a non-JSON body is not echoed', () => {
    const err = upstreamStatusError(502, '<html><body>internal host db-7.corp secret</body></html>', null);
    assert.equal(err.message, 'The upstream provider answered 502.');
    assert.equal(err.message.includes('secret'), false);
    assert.equal(JSON.stringify(err.toBody()).includes('db-7'), false);
    assert.equal(err.status, 502);
    assert.deepEqual(err.upstream, { status: 502, code: null, type: null });
  });

  test('a numeric code becomes a string; a top-level message is used', () => {
    const err = upstreamStatusError(400, '{"message":"bad thing","code":123}', null);
    assert.equal(err.message, 'Upstream 400: bad thing');
    assert.deepEqual(err.upstream, { status: 400, code: '123', type: null });
  });

  test('JSON that is not an object, or an error without a message, keeps the generic message', () => {
    for (const body of ['[1,2]', 'null', '"text"', '{"error":{"code":"x"}}', '', '{"error":"just a string"}']) {
      assert.equal(upstreamStatusError(503, body, null).message, 'The upstream provider answered 503.', body);
    }
    assert.deepEqual(upstreamStatusError(503, '{"error":{"code":"x","type":"t"}}', '5').upstream, { status: 503, code: 'x', type: 't' });
  });

  test('the upstream status is kept as is, for any 4xx/5xx', () => {
    for (const status of [400, 401, 403, 404, 409, 422, 429, 500, 503, 529]) {
      assert.equal(upstreamStatusError(status, '', null).status, status);
    }
  });
});
