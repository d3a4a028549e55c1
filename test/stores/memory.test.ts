import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { assertWithinBound, prng, rule, storeContract, type Admission } from './contract.js';

storeContract('MemoryStore', {
  async create(clock, instances) {
    // One process shares one store; "instances" of the in-process store are the same object.
    const store = new MemoryStore({ clock });
    return Array.from({ length: instances }, () => store);
  },
});

describe('MemoryStore', () => {
  test('holds at most maxKeys keys of each kind, evicting the least recently used', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock, maxKeys: 3 });
    const r = (key: string) => rule(key, 10, 60_000);
    for (const key of ['a', 'b', 'c']) await store.consume([r(key)], [10]);
    await store.consume([r('a')], [0]); // a is now the most recently used
    await store.consume([r('d')], [10]);
    assert.equal(store.size.buckets, 3);
    assert.equal((await store.consume([r('a')], [1]))[0]!.allowed, false, 'a was kept');
    assert.equal((await store.consume([r('b')], [1]))[0]!.allowed, true, 'b was evicted, so it starts full');
    await store.close();
  });

  test('expired keys are swept every sweepMs', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock, sweepMs: 10_000 });
    await store.consume([rule('k', 10, 1000)], [5]);
    await store.add('c', 1, 2000);
    assert.ok((await store.acquire('l', 1, 3000)) !== null);
    assert.deepEqual(store.size, { buckets: 1, leases: 1, counters: 1, marks: 0 });
    clock.advance(9_999);
    assert.deepEqual(store.size, { buckets: 1, leases: 1, counters: 1, marks: 0 });
    clock.advance(1);
    assert.deepEqual(store.size, { buckets: 0, leases: 0, counters: 0, marks: 0 });
    await store.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('the bound holds for long random runs of several rules decided together', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock });
    const random = prng(7);
    const rules = [rule('r1', 37, 60_000, 10), rule('r2', 150_000, 60_000), rule('r3', 3, 1000, 1)];
    const admitted: Admission[][] = rules.map(() => []);
    for (let t = 0, i = 0; i < 6000; i++) {
      const costs = [1, 1 + Math.floor(random() * 5000), 1];
      const results = await store.consume(rules, costs);
      results.forEach((res, k) => {
        if (res.allowed) admitted[k]!.push({ at: t, cost: costs[k]! });
      });
      const step = Math.floor(random() * 40);
      clock.advance(step);
      t += step;
    }
    rules.forEach((r, k) => assertWithinBound(admitted[k]!, r));
    await store.close();
  });

  test('options are checked at construction', () => {
    const clock = new FakeClock();
    assert.throws(() => new MemoryStore({ clock, maxKeys: 0 }), RangeError);
    assert.throws(() => new MemoryStore({ clock, sweepMs: -1 }), RangeError);
  });
});
