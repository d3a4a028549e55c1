import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasEncodedSlash, normalizeTarget } from '../../src/http/path.js';

test('dot segments are removed (RFC 3986 5.2.4), after decoding percent-encoded unreserved characters', () => {
  const cases: [string, string][] = [
    ['/api/x', '/api/x'],
    ['/api/./x', '/api/x'],
    ['/api/a/../b', '/api/b'],
    ['/api/a/b/..', '/api/a/'],
    ['/api/a/.', '/api/a/'],
    ['/api/%2e%2e/admin/keys', '/admin/keys'],
    ['/api/%2E%2e/admin', '/admin'],
    ['/api/.%2e/admin', '/admin'],
    ['/api/%61bc', '/api/abc'],
    ['/api/%7euser', '/api/~user'],
    ['/api/caf%c3%a9', '/api/caf%C3%A9'],
    ['/api/a%20b?x=../y', '/api/a%20b?x=../y'],
    ['/api/../admin/keys?x=1', '/admin/keys?x=1'],
    ['/', '/'],
    ['/..a/b', '/..a/b'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeTarget(input), want, input);
});

test('refused: a backslash, an encoded NUL, a malformed escape, ".." above the root, a target that is not a path', () => {
  for (const input of ['/api\\..\\admin', '/api/%00', '/api/%zz', '/api/%2', '/..', '/api/../../etc/passwd', '/%2e%2e/x', 'http://example.com/api', '*', '']) {
    assert.equal(normalizeTarget(input), null, input);
  }
});

test('encoded slashes and backslashes stay encoded, so they never make segments, and are flagged', () => {
  assert.equal(normalizeTarget('/api/a%2f..%2fb'), '/api/a%2F..%2Fb');
  assert.equal(hasEncodedSlash('/api/a%2F..%2Fb'), true);
  assert.equal(hasEncodedSlash('/api/a%5Cb'), true);
  assert.equal(hasEncodedSlash('/api/a?next=%2F'), false, 'the query is not the path');
});
