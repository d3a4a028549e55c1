import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findUnstorable, jsonTooDeep, unstorable } from '../../src/lib/text.js';

test('jsonTooDeep counts nesting on the text, skipping brackets inside strings', () => {
  assert.equal(jsonTooDeep('[[[]]]', 3), false);
  assert.equal(jsonTooDeep('[[[[]]]]', 3), true);
  assert.equal(jsonTooDeep('{"a":{"b":[1]}}', 3), false);
  assert.equal(jsonTooDeep('{"a":"[[[[[[[[\\"[[["}', 2), false, 'brackets and escaped quotes inside strings do not count');
  // 100,000 levels in 200 KB: a single pass, no stack to overflow.
  assert.equal(jsonTooDeep('['.repeat(100_000) + ']'.repeat(100_000), 64), true);
});

test('unstorable finds NUL and lone surrogates, not paired ones', () => {
  assert.equal(unstorable('gpt-4o'), false);
  assert.equal(unstorable('gpt-4o\u0000'), true);
  assert.equal(unstorable('a\ud800'), true);
  assert.equal(unstorable('\udc00a'), true);
  assert.equal(unstorable('smile \ud83d\ude00'), false);
  assert.equal(unstorable('é ü 中文'), false);
});

test('findUnstorable names the path of the first bad string or key, iteratively', () => {
  assert.equal(findUnstorable({ a: 'ok', b: ['x', 'y\u0000'] }, 'metadata'), 'metadata.b[1]');
  assert.equal(findUnstorable({ 'k\ud800': 1 }, 'metadata'), 'metadata.k\ud800');
  assert.equal(findUnstorable({ a: { b: 'fine' } }, 'metadata'), null);
  let deep: unknown = 'x\u0000';
  for (let i = 0; i < 50_000; i++) deep = [deep];
  assert.ok(findUnstorable(deep)?.endsWith('[0]'));
});
