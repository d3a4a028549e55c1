import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { itemsPage } from '../../../src/surfaces/responses/stored.js';

const items = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, type: 'message' }));
const page = (q: string): Record<string, unknown> => itemsPage(items, new URLSearchParams(q));
const ids = (p: Record<string, unknown>): unknown[] => (p.data as { id: string }[]).map((i) => i.id);

describe('input_items pages', () => {
  test('desc by default, limit 20', () => {
    const p = page('');
    assert.deepEqual(ids(p), ['e', 'd', 'c', 'b', 'a']);
    assert.deepEqual({ ...p, data: null }, { object: 'list', data: null, first_id: 'e', last_id: 'a', has_more: false });
  });

  test('asc, limit and after walk the list page by page', () => {
    const first = page('order=asc&limit=2');
    assert.deepEqual(ids(first), ['a', 'b']);
    assert.equal(first.has_more, true);
    const second = page(`order=asc&limit=2&after=${String(first.last_id)}`);
    assert.deepEqual(ids(second), ['c', 'd']);
    const third = page('order=asc&limit=2&after=d');
    assert.deepEqual(ids(third), ['e']);
    assert.equal(third.has_more, false);
  });

  test('bad order, limit or cursor are 400s naming the parameter', () => {
    for (const [q, param] of [['order=up', 'order'], ['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=x', 'limit'], ['after=zzz', 'after']] as const) {
      assert.throws(() => page(q), (err: unknown) => err instanceof SluiceError && err.status === 400 && err.param === param, q);
    }
  });
});
