import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret } from '../../src/lib/secret.js';
import { changedKeys, sameValue } from '../../src/lib/same.js';

test('secrets compare by value, though both print [redacted]: a rotated key is a change', () => {
  assert.equal(sameValue({ apiKey: new Secret('sk-a') }, { apiKey: new Secret('sk-a') }), true);
  assert.equal(sameValue({ apiKey: new Secret('sk-a') }, { apiKey: new Secret('sk-b') }), false);
  assert.equal(JSON.stringify(new Secret('sk-a')), JSON.stringify(new Secret('sk-b')), 'why a JSON comparison would not do');
  assert.equal(sameValue(new Secret('x'), 'x'), false);
});

test('plain objects, arrays, sets, maps and regexps compare by content; other objects and functions by identity', () => {
  assert.equal(sameValue({ a: [1, { b: 2 }], s: new Set([1, 2]) }, { a: [1, { b: 2 }], s: new Set([2, 1]) }), true);
  assert.equal(sameValue({ a: [1, 2] }, { a: [1, 2, 3] }), false);
  assert.equal(sameValue({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(sameValue(new Map([['k', { v: 1 }]]), new Map([['k', { v: 1 }]])), true);
  assert.equal(sameValue(new Map([['k', { v: 1 }]]), new Map([['k', { v: 2 }]])), false);
  assert.equal(sameValue(/a/g, /a/g), true);
  assert.equal(sameValue(/a/g, /a/i), false);
  assert.equal(sameValue(NaN, NaN), true);
  const f = (): number => 1;
  assert.equal(sameValue(f, f), true);
  assert.equal(sameValue(f, (): number => 1), false, 'two closures may capture different values: treated as changed');
  class Thing {
    readonly x = 1;
  }
  assert.equal(sameValue(new Thing(), new Thing()), false, 'an unknown class is treated as changed');
  assert.equal(sameValue([1], { 0: 1, length: 1 }), false);
});

test('changedKeys names the keys whose values differ', () => {
  assert.deepEqual(changedKeys({ a: 1, b: { c: 2 }, d: 3 }, { a: 1, b: { c: 3 }, d: 4 }, ['a', 'b', 'd']), ['b', 'd']);
});
