import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryHeap } from '../../src/routing/heap.js';
import { mulberry32 } from './helpers.js';

interface Item {
  heapIndex: number;
  readonly key: number;
  readonly id: number;
}

const item = (key: number, id = 0): Item => ({ heapIndex: -1, key, id });
const minHeap = (): BinaryHeap<Item> => new BinaryHeap<Item>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id));

function drain(heap: BinaryHeap<Item>): number[] {
  const out: number[] = [];
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x.key);
  return out;
}

describe('BinaryHeap', () => {
  test('empty: size 0, peek and pop undefined', () => {
    const h = minHeap();
    assert.equal(h.size, 0);
    assert.equal(h.peek(), undefined);
    assert.equal(h.pop(), undefined);
  });

  test('pops in order', () => {
    const h = minHeap();
    for (const k of [5, 3, 8, 1, 9, 2, 7]) h.push(item(k));
    assert.equal(h.size, 7);
    assert.equal(h.peek()!.key, 1);
    assert.deepEqual(drain(h), [1, 2, 3, 5, 7, 8, 9]);
  });

  test('matches a sort over random pushes, pops and removals', () => {
    const random = mulberry32(123);
    const h = minHeap();
    const live: Item[] = [];
    let id = 0;
    for (let step = 0; step < 5_000; step++) {
      const r = random();
      if (r < 0.5 || live.length === 0) {
        const x = item(Math.floor(random() * 50), id++);
        h.push(x);
        live.push(x);
      } else if (r < 0.75) {
        const popped = h.pop()!;
        live.sort((a, b) => a.key - b.key || a.id - b.id);
        assert.equal(popped, live.shift());
      } else {
        const victim = live.splice(Math.floor(random() * live.length), 1)[0]!;
        assert.equal(h.remove(victim), true);
        assert.equal(victim.heapIndex, -1);
      }
      assert.equal(h.size, live.length);
    }
    live.sort((a, b) => a.key - b.key || a.id - b.id);
    assert.deepEqual(drain(h), live.map((x) => x.key));
  });

  test('remove of an item not in the heap is false and changes nothing', () => {
    const h = minHeap();
    const a = item(1);
    h.push(a);
    h.push(item(2));
    assert.equal(h.remove(item(1)), false);
    assert.equal(h.remove(a), true);
    assert.equal(h.remove(a), false);
    assert.deepEqual(drain(h), [2]);
  });

  test('removing the last item and the head', () => {
    const h = minHeap();
    const items = [1, 2, 3, 4].map((k) => item(k));
    for (const x of items) h.push(x);
    assert.equal(h.remove(items[3]!), true);
    assert.equal(h.remove(items[0]!), true);
    assert.deepEqual(drain(h), [2, 3]);
  });
});
