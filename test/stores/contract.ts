import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import type { LimitRule, StateStore } from '../../src/stores/types.js';
import { mulberry32 } from '../../src/lib/random.js';

/**
 * The StateStore contract, run against every implementation (memory, Redis, Redis Cluster).
 * Time moves only through the FakeClock, so each expectation is exact and nothing sleeps.
 */
export interface ContractTarget {
  /**
   * `instances` stores sharing one state, as that many gateway instances would (separate
   * connections for a remote store; the same object for the in-process one), all on `clock`.
   * Each call must start from empty state.
   */
  create(clock: FakeClock, instances: number): Promise<StateStore[]>;
}

export function rule(key: string, limit: number, windowMs: number, burst = limit): LimitRule {
  return { key, limit, windowMs, burst };
}

/** Times (ms since the start) and costs of the admitted consumes. */
export interface Admission {
  readonly at: number;
  readonly cost: number;
}

/**
 * The documented accuracy guarantee (docs/limits.md): over any closed span [t1, t2] the
 * admitted units are at most burst + ⌊limit·(t2 − t1)/window⌋.
 */
export function assertWithinBound(admitted: readonly Admission[], r: LimitRule): void {
  for (let i = 0; i < admitted.length; i++) {
    let sum = 0;
    for (let j = i; j < admitted.length; j++) {
      sum += admitted[j]!.cost;
      const span = admitted[j]!.at - admitted[i]!.at;
      const bound = r.burst + Math.floor((r.limit * span) / r.windowMs);
      assert.ok(sum <= bound, `${sum} units admitted in [${admitted[i]!.at}, ${admitted[j]!.at}], bound ${bound}`);
    }
  }
}

/** A small deterministic PRNG, so a failing sequence can be replayed. */
export const prng = mulberry32;

export function storeContract(name: string, target: ContractTarget): void {
  async function withStores(instances: number, fn: (stores: StateStore[], clock: FakeClock) => Promise<void>): Promise<void> {
    const clock = new FakeClock();
    const stores = await target.create(clock, instances);
    try {
      await fn(stores, clock);
    } finally {
      for (const store of new Set(stores)) await store.close();
    }
  }
  const one = (fn: (store: StateStore, clock: FakeClock) => Promise<void>) => () => withStores(1, (stores, clock) => fn(stores[0]!, clock));

  describe(`${name}: StateStore contract`, { timeout: 30_000 }, () => {
    describe('limits', () => {
      test('exactly `limit` of 500 concurrent consumes are allowed, spread over three instances', () =>
        withStores(3, async (stores) => {
          const r = rule('rpm', 37, 60_000);
          const results = await Promise.all(Array.from({ length: 500 }, (_, i) => stores[i % stores.length]!.consume([r], [1])));
          const allowed = results.map((rs) => rs[0]!).filter((x) => x.allowed);
          assert.equal(allowed.length, 37);
          // Atomic decisions: each allowed one saw a different remaining count.
          assert.deepEqual(allowed.map((x) => x.remaining).sort((a, b) => a - b), Array.from({ length: 37 }, (_, i) => i));
        }));

      test('remaining, reset and retryAfter are exact (37 per minute)', one(async (store, clock) => {
        const r = rule('exact', 37, 60_000);
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: true, limit: 37, remaining: 36, resetMs: 1622, retryAfterMs: 0 });
        for (let i = 0; i < 35; i++) await store.consume([r], [1]);
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: true, limit: 37, remaining: 0, resetMs: 60_000, retryAfterMs: 0 });
        // T = 60000/37 = 1621.6… ms: the next unit frees 1622 ms from now.
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: false, limit: 37, remaining: 0, resetMs: 60_000, retryAfterMs: 1622 });
        clock.advance(1621);
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: false, limit: 37, remaining: 0, resetMs: 58_379, retryAfterMs: 1 });
        clock.advance(1);
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: true, limit: 37, remaining: 0, resetMs: 60_000, retryAfterMs: 0 });
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: false, limit: 37, remaining: 0, resetMs: 60_000, retryAfterMs: 1622 });
      }));

      test('refills at exactly limit/window, without drift (3 per second, T = 333.3 ms)', one(async (store, clock) => {
        const r = rule('refill', 3, 1000);
        for (let i = 0; i < 3; i++) assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
        // Probe just before and at each expected refill (a dozen round trips, not 2,000: Redis
        // expires keys on real time while this clock is fake, so the test must stay quick).
        const at: number[] = [];
        let now = 0;
        for (const due of [334, 667, 1000, 1334, 1667, 2000]) {
          clock.advance(due - 1 - now);
          if ((await store.consume([r], [1]))[0]!.allowed) at.push(due - 1);
          clock.advance(1);
          now = due;
          if ((await store.consume([r], [1]))[0]!.allowed) at.push(due);
        }
        assert.deepEqual(at, [334, 667, 1000, 1334, 1667, 2000]);
      }));

      test('burst bounds what an idle bucket holds; the rate stays limit/window', one(async (store, clock) => {
        const r = rule('burst', 60, 60_000, 5);
        const first = [];
        for (let i = 0; i < 6; i++) first.push((await store.consume([r], [1]))[0]!);
        assert.deepEqual(first.map((x) => x.allowed), [true, true, true, true, true, false]);
        assert.deepEqual(first.map((x) => x.remaining), [4, 3, 2, 1, 0, 0]);
        assert.equal(first[5]!.retryAfterMs, 1000);
        assert.equal(first[5]!.resetMs, 5000);
        clock.advance(1000);
        assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
        assert.equal((await store.consume([r], [1]))[0]!.allowed, false);
        clock.advance(3_600_000);
        const later = [];
        for (let i = 0; i < 6; i++) later.push((await store.consume([r], [1]))[0]!.allowed);
        assert.deepEqual(later, [true, true, true, true, true, false]);
      }));

      test('the bound burst + ⌊limit·Δ/window⌋ is reached from idle and never exceeded', one(async (store, clock) => {
        const r = rule('bound', 5, 1000, 3);
        const admitted: Admission[] = [];
        for (let t = 0; t <= 1000; t++) {
          while ((await store.consume([r], [1]))[0]!.allowed) admitted.push({ at: t, cost: 1 });
          clock.advance(1);
        }
        assert.equal(admitted.length, 3 + 5);
        assertWithinBound(admitted, r);
      }));

      test('random arrivals and costs stay within the bound', one(async (store, clock) => {
        const r = rule('random', 7, 1000, 4);
        const random = prng(42);
        const admitted: Admission[] = [];
        let t = 0;
        while (t < 5000) {
          const cost = 1 + Math.floor(random() * 3);
          if ((await store.consume([r], [cost]))[0]!.allowed) admitted.push({ at: t, cost });
          const step = Math.floor(random() * 60);
          clock.advance(step);
          t += step;
        }
        assertWithinBound(admitted, r);
        const total = admitted.reduce((sum, a) => sum + a.cost, 0);
        // Arrivals are denser than the rate, so the rate is used up to within one cost.
        assert.ok(total >= Math.floor((7 * t) / 1000) - 2, `only ${total} units admitted over ${t} ms`);
      }));

      test('costs above 1 (tokens): exact remaining and retryAfter', one(async (store, clock) => {
        const r = rule('tpm', 1000, 60_000);
        assert.deepEqual((await store.consume([r], [600]))[0], { allowed: true, limit: 1000, remaining: 400, resetMs: 36_000, retryAfterMs: 0 });
        assert.deepEqual((await store.consume([r], [500]))[0], { allowed: false, limit: 1000, remaining: 400, resetMs: 36_000, retryAfterMs: 6000 });
        clock.advance(5999);
        assert.equal((await store.consume([r], [500]))[0]!.retryAfterMs, 1);
        clock.advance(1);
        assert.deepEqual((await store.consume([r], [500]))[0], { allowed: true, limit: 1000, remaining: 0, resetMs: 60_000, retryAfterMs: 0 });
      }));

      test('a cost above burst is denied with retryAfter Infinity and consumes nothing', one(async (store) => {
        const r = rule('huge', 1000, 60_000, 100);
        assert.deepEqual((await store.consume([r], [101]))[0], { allowed: false, limit: 1000, remaining: 100, resetMs: 0, retryAfterMs: Number.POSITIVE_INFINITY });
        assert.equal((await store.consume([r], [100]))[0]!.allowed, true);
      }));

      test('a cost of 0 reads the bucket without consuming', one(async (store) => {
        const r = rule('peek', 10, 1000);
        await store.consume([r], [4]);
        assert.deepEqual((await store.consume([r], [0]))[0], { allowed: true, limit: 10, remaining: 6, resetMs: 400, retryAfterMs: 0 });
        assert.equal((await store.consume([r], [6]))[0]!.allowed, true);
      }));

      test('rules in one call are decided independently; only the allowing ones consume', one(async (store) => {
        const a = rule('multi-a', 2, 60_000);
        const b = rule('multi-b', 5, 60_000);
        await store.consume([a, b], [1, 1]);
        await store.consume([a, b], [1, 1]);
        const third = await store.consume([a, b], [1, 1]);
        assert.deepEqual(third.map((x) => x.allowed), [false, true]);
        assert.deepEqual(third.map((x) => x.remaining), [0, 2]);
        // All-or-nothing is the caller's: refund the rules that allowed.
        await store.adjust([b], [1]);
        assert.equal((await store.consume([b], [0]))[0]!.remaining, 3);
        assert.deepEqual(await store.consume([], []), []);
      }));

      test('adjust refunds, up to a full bucket', one(async (store) => {
        const r = rule('refund', 37, 60_000);
        for (let i = 0; i < 37; i++) await store.consume([r], [1]);
        await store.adjust([r], [5]);
        const after = [];
        for (let i = 0; i < 6; i++) after.push((await store.consume([r], [1]))[0]!.allowed);
        assert.deepEqual(after, [true, true, true, true, true, false]);
        const idle = rule('refund-idle', 37, 60_000);
        await store.adjust([idle], [100]);
        assert.equal((await store.consume([idle], [0]))[0]!.remaining, 37);
      }));

      test('adjust with a negative delta charges into debt, paid back at the rate', one(async (store, clock) => {
        const r = rule('debt', 37, 60_000);
        await store.adjust([r], [-74]);
        // Level 74 units; one more needs 38 to drain: 38·60000/37 = 61621.6… ms.
        assert.deepEqual((await store.consume([r], [1]))[0], { allowed: false, limit: 37, remaining: 0, resetMs: 120_000, retryAfterMs: 61_622 });
        clock.advance(61_621);
        assert.equal((await store.consume([r], [1]))[0]!.allowed, false);
        clock.advance(1);
        assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
      }));

      test('invalid rules, costs and deltas are rejected', one(async (store) => {
        await assert.rejects(store.consume([rule('bad', 1.5, 1000)], [1]), RangeError);
        await assert.rejects(store.consume([rule('bad', 10, 0)], [1]), RangeError);
        await assert.rejects(store.consume([rule('bad', 10, 1000, 0)], [1]), RangeError);
        await assert.rejects(store.consume([rule('bad', 10, 1000)], [-1]), RangeError);
        await assert.rejects(store.consume([rule('bad', 10, 1000)], [1.5]), RangeError);
        await assert.rejects(store.consume([rule('bad', 10, 1000)], []), RangeError);
        await assert.rejects(store.adjust([rule('bad', 10, 1000)], [0.5]), RangeError);
        await assert.rejects(store.consume([rule('', 10, 1000)], [1]), TypeError);
      }));
    });

    describe('concurrency', () => {
      test('acquire takes up to `limit` slots; release frees one', one(async (store) => {
        const a = await store.acquire('conc', 2, 60_000);
        const b = await store.acquire('conc', 2, 60_000);
        assert.ok(a !== null && b !== null && a !== b);
        assert.equal(await store.acquire('conc', 2, 60_000), null);
        await store.release('conc', a);
        const c = await store.acquire('conc', 2, 60_000);
        assert.ok(c !== null);
        assert.equal(await store.acquire('conc', 2, 60_000), null);
        await store.release('conc', 'no-such-lease');
        await store.release('conc', a);
        assert.equal(await store.acquire('conc', 2, 60_000), null);
        assert.ok((await store.acquire('other', 2, 60_000)) !== null);
        assert.equal(await store.acquire('zero', 0, 60_000), null);
      }));

      test('a lease not released expires after leaseMs', one(async (store, clock) => {
        assert.ok((await store.acquire('lease', 1, 1000)) !== null);
        clock.advance(999);
        assert.equal(await store.acquire('lease', 1, 1000), null);
        clock.advance(1);
        const again = await store.acquire('lease', 1, 1000);
        assert.ok(again !== null);
        await store.release('lease', again);
        assert.ok((await store.acquire('lease', 1, 1000)) !== null);
      }));

      test('exactly `limit` of 200 concurrent acquires succeed across three instances', () =>
        withStores(3, async (stores) => {
          const leases = await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % stores.length]!.acquire('conc-many', 7, 60_000)));
          assert.equal(leases.filter((l) => l !== null).length, 7);
        }));

      test('invalid arguments are rejected', one(async (store) => {
        await assert.rejects(store.acquire('x', -1, 1000), RangeError);
        await assert.rejects(store.acquire('x', 1, 0), RangeError);
        await assert.rejects(store.acquire('', 1, 1000), TypeError);
      }));
    });

    describe('marks', () => {
      test('a mark only rises while it lives; marks reads several keys in order, null for a missing one', one(async (store) => {
        assert.deepEqual(await store.marks(['m1', 'm2']), [null, null]);
        await store.mark('m1', 1_000, 60_000);
        await store.mark('m1', 500, 60_000);
        assert.deepEqual(await store.marks(['m1', 'm2', 'm1']), [1_000, null, 1_000]);
        await store.mark('m1', 2_500.5, 60_000);
        await store.mark('m2', -3, 60_000);
        assert.deepEqual(await store.marks(['m2', 'm1']), [-3, 2_500.5]);
        assert.deepEqual(await store.marks([]), []);
      }));

      test('a raised mark expires ttlMs after the write that raised it; a lower write neither lowers nor extends it', one(async (store, clock) => {
        await store.mark('t', 10, 1_000);
        clock.advance(600);
        await store.mark('t', 5, 1_000);
        clock.advance(399);
        assert.deepEqual(await store.marks(['t']), [10]);
        clock.advance(1);
        assert.deepEqual(await store.marks(['t']), [null]);
        // Once expired, any value is raised from nothing.
        await store.mark('t', 1, 1_000);
        assert.deepEqual(await store.marks(['t']), [1]);
        await store.mark('t', 20, 5_000);
        clock.advance(4_999);
        assert.deepEqual(await store.marks(['t']), [20]);
      }));

      test('concurrent marks from three instances end at the largest value', () =>
        withStores(3, async (stores) => {
          await Promise.all(Array.from({ length: 60 }, (_, i) => stores[i % stores.length]!.mark('max', (i * 37) % 101, 60_000)));
          assert.deepEqual(await stores[1]!.marks(['max']), [100]);
        }));

      test('invalid arguments are rejected', one(async (store) => {
        await assert.rejects(store.mark('x', Number.NaN, 1000), RangeError);
        await assert.rejects(store.mark('x', 1, 0), RangeError);
        await assert.rejects(store.marks(['']), TypeError);
      }));
    });

    describe('counters', () => {
      test('add returns the running total; get reads it; keys are separate', one(async (store) => {
        assert.equal(await store.get('usd'), 0);
        assert.equal(await store.add('usd', 0.25, 60_000), 0.25);
        assert.equal(await store.add('usd', 0.5, 60_000), 0.75);
        assert.equal(await store.add('usd', -0.125, 60_000), 0.625);
        assert.equal(await store.get('usd'), 0.625);
        assert.equal(await store.get('usd-other'), 0);
        const small = await store.add('usd-small', 0.1, 60_000);
        assert.ok(Math.abs((await store.add('usd-small', 0.2, 60_000)) - 0.3) < 1e-12 && small === 0.1);
      }));

      test('a counter expires ttlMs after its first write, not after the latest', one(async (store, clock) => {
        await store.add('ttl', 1, 1000);
        clock.advance(600);
        assert.equal(await store.add('ttl', 1, 1000), 2);
        clock.advance(399);
        assert.equal(await store.get('ttl'), 2);
        clock.advance(1);
        assert.equal(await store.get('ttl'), 0);
        assert.equal(await store.add('ttl', 3, 1000), 3);
        clock.advance(999);
        assert.equal(await store.get('ttl'), 3);
        clock.advance(1);
        assert.equal(await store.get('ttl'), 0);
      }));

      test('concurrent adds from three instances all count', () =>
        withStores(3, async (stores) => {
          await Promise.all(Array.from({ length: 120 }, (_, i) => stores[i % stores.length]!.add('sum', 0.5, 60_000)));
          assert.equal(await stores[0]!.get('sum'), 60);
        }));

      test('invalid arguments are rejected', one(async (store) => {
        await assert.rejects(store.add('x', Number.NaN, 1000), RangeError);
        await assert.rejects(store.add('x', 1, 0), RangeError);
        await assert.rejects(store.get(''), TypeError);
      }));
    });

    test('ping resolves', one(async (store) => {
      await store.ping();
    }));
  });
}
