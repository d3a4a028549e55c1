import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findUnstorable, unstorable, valueTooDeep } from '../../src/lib/text.js';

test('valueTooDeep measures nesting of arrays and objects with a stack, not recursion', () => {
  assert.equal(valueTooDeep([[[]]], 3), false);
  assert.equal(valueTooDeep([[[[]]]], 3), true);
  assert.equal(valueTooDeep({ a: { b: [1] } }, 3), false);
  assert.equal(valueTooDeep({ a: { b: [{}] } }, 3), true);
  assert.equal(valueTooDeep('[[[[[[', 1), false, 'strings are leaves');
  assert.equal(valueTooDeep(Array.from({ length: 10_000 }, () => 1), 1), false, 'wide is not deep');
  // 100,000 levels: parsed by JSON.parse (not recursive in V8), measured without overflowing the stack.
  assert.equal(valueTooDeep(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)), 64), true);
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
