import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheControl } from '../../../src/policies/cache/cache-control.js';

test('Cache-Control directives are lower-cased, with unquoted values, "" when a directive has none', () => {
  assert.deepEqual([...cacheControl('No-Cache, max-age=60, private="set-cookie"')], [
    ['no-cache', ''],
    ['max-age', '60'],
    ['private', 'set-cookie'],
  ]);
  assert.deepEqual([...cacheControl(['no-store', 'max-age=5'])], [
    ['no-store', ''],
    ['max-age', '5'],
  ]);
  assert.equal(cacheControl(undefined).size, 0);
  assert.equal(cacheControl('').size, 0);
});

test('a repeated header text is parsed once; past the memo size every value still parses right', () => {
  assert.equal(cacheControl('no-cache'), cacheControl('no-cache'));
  for (let i = 0; i < 1000; i++) assert.equal(cacheControl(`max-age=${i}`).get('max-age'), String(i));
  assert.equal(cacheControl('no-cache').has('no-cache'), true);
  assert.equal(cacheControl('max-age=7').get('max-age'), '7');
});
