import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STRATEGY_NAMES, createStrategy, type Candidate, type PickRequest, type StrategyName } from '../../src/routing/strategies.js';
import { candidate, mulberry32, sequence } from './helpers.js';

const req: PickRequest = { promptTokens: 1_000, maxTokens: 500, region: null };

function picks(name: StrategyName, candidates: readonly Candidate[], n: number, request: PickRequest = req, random?: () => number): number[] {
  const s = createStrategy(name, random === undefined ? {} : { random });
  return Array.from({ length: n }, () => s.pick(candidates, request)!.index);
}

function counts(indexes: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const i of indexes) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

describe('createStrategy', () => {
  test('every strategy returns null for no candidates and the only one for one', () => {
    const only = candidate(3, { weight: 0, inFlight: 9, latency: 500 });
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name, { random: mulberry32(1) });
      assert.equal(s.pick([], req), null, name);
      assert.equal(s.pick([only], { ...req, region: 'eu' }), only, name);
    }
  });

  test('an unknown name is a RangeError', () => {
    assert.throws(() => createStrategy('random' as StrategyName), RangeError);
  });

  test('each call makes a fresh instance (weighted state is per route)', () => {
    const cs = [candidate(0, { weight: 1 }), candidate(1, { weight: 1 })];
    const a = createStrategy('weighted');
    const b = createStrategy('weighted');
    assert.equal(a.pick(cs, req)!.index, 0);
    assert.equal(b.pick(cs, req)!.index, 0);
  });
});

describe('weighted (smooth weighted round robin)', () => {
  const abc = [candidate(0, { weight: 5 }), candidate(1, { weight: 1 }), candidate(2, { weight: 1 })];

  test('weights 5,1,1 give a a b a c a a, repeating', () => {
    const seq = picks('weighted', abc, 14).map((i) => 'abc'[i]).join('');
    assert.equal(seq, 'aabacaa' + 'aabacaa');
  });

  test('the order of the candidate list does not matter', () => {
    const seq = picks('weighted', [...abc].reverse(), 7).map((i) => 'abc'[i]).join('');
    assert.equal(seq, 'aabacaa');
  });

  test('over 10,000 picks the shares are within ±1% of the weights', () => {
    const cs = [candidate(0, { weight: 50 }), candidate(1, { weight: 30 }), candidate(2, { weight: 15 }), candidate(3, { weight: 5 })];
    const c = counts(picks('weighted', cs, 10_000));
    for (const [i, share] of [0.5, 0.3, 0.15, 0.05].entries()) {
      assert.ok(Math.abs(c.get(i)! / 10_000 - share) <= 0.01, `target ${i}: ${c.get(i)}`);
    }
    // Smooth WRR is in fact exact over whole rounds.
    assert.deepEqual([c.get(0), c.get(1), c.get(2), c.get(3)], [5_000, 3_000, 1_500, 500]);
  });

  test('weight 0 is never picked while another has weight', () => {
    const cs = [candidate(0, { weight: 0 }), candidate(1, { weight: 2 }), candidate(2, { weight: 0 }), candidate(3, { weight: 1 })];
    const c = counts(picks('weighted', cs, 300));
    assert.equal(c.get(0), undefined);
    assert.equal(c.get(2), undefined);
    assert.deepEqual([c.get(1), c.get(3)], [200, 100]);
  });

  test('weight 0 is not picked on a tie either (after a peer left with credit)', () => {
    const z = candidate(0, { weight: 0 });
    const a = candidate(1, { weight: 1 });
    const b = candidate(2, { weight: 1 });
    const s = createStrategy('weighted');
    assert.equal(s.pick([z, a, b], req), a); // a: -1, b: +1
    // Without b, a's current climbs back to 0, level with z's: z must still not win.
    assert.equal(s.pick([z, a], req), a);
  });

  test('all weights 0: round robin', () => {
    const cs = [candidate(0, { weight: 0 }), candidate(1, { weight: 0 }), candidate(2, { weight: 0 })];
    assert.deepEqual(picks('weighted', cs, 6), [0, 1, 2, 0, 1, 2]);
  });

  test('a candidate that disappears is skipped and, when it returns, the weights hold again', () => {
    const s = createStrategy('weighted');
    const name = (c: Candidate | null): string => 'abc'[c!.index]!;
    let seq = '';
    for (let i = 0; i < 7; i++) seq += name(s.pick(abc, req));
    const withoutB = [abc[0]!, abc[2]!];
    let gone = '';
    for (let i = 0; i < 12; i++) gone += name(s.pick(withoutB, req));
    assert.equal(seq, 'aabacaa');
    assert.deepEqual(counts([...gone].map((ch) => ch.charCodeAt(0))), counts([...'aaaaaaaaaacc'].map((ch) => ch.charCodeAt(0))), gone);
    let back = '';
    for (let i = 0; i < 21; i++) back += name(s.pick(abc, req));
    // Every round of 7 after the return has exactly five a, one b, one c.
    for (let r = 0; r < 3; r++) {
      const round = [...back.slice(r * 7, r * 7 + 7)].sort().join('');
      assert.equal(round, 'aaaaabc', back);
    }
  });

  test('negative and non-finite weights count as 0', () => {
    const cs = [candidate(0, { weight: -5 }), candidate(1, { weight: Number.NaN }), candidate(2, { weight: 1 })];
    assert.deepEqual(picks('weighted', cs, 3), [2, 2, 2]);
  });
});

describe('least-busy (power of two choices on in-flight)', () => {
  test('of the two sampled, the one with fewer in flight', () => {
    const cs = [candidate(0, { inFlight: 5 }), candidate(1, { inFlight: 2 }), candidate(2, { inFlight: 9 })];
    // random 0 → position 0; then 0.99 of the other two → position 2: candidates 0 and 2.
    assert.equal(createStrategy('least-busy', { random: sequence(0, 0.99) }).pick(cs, req)!.index, 0);
    // positions 2 and 1.
    assert.equal(createStrategy('least-busy', { random: sequence(0.99, 0.6) }).pick(cs, req)!.index, 1);
  });

  test('the two samples are distinct', () => {
    const cs = [candidate(0, { inFlight: 1 }), candidate(1, { inFlight: 0 })];
    // Both draws 0: the second is shifted past the first, so candidate 1 is compared too.
    assert.equal(createStrategy('least-busy', { random: sequence(0, 0) }).pick(cs, req)!.index, 1);
  });

  test('ties go to the lower index', () => {
    const cs = [candidate(0, { inFlight: 3 }), candidate(1, { inFlight: 3 })];
    assert.equal(createStrategy('least-busy', { random: sequence(0.9, 0) }).pick(cs, req)!.index, 0);
  });

  test('steers away from a busy target', () => {
    const cs = [candidate(0, { inFlight: 50 }), candidate(1, { inFlight: 1 }), candidate(2, { inFlight: 2 }), candidate(3, { inFlight: 0 })];
    const c = counts(picks('least-busy', cs, 4_000, req, mulberry32(42)));
    assert.equal(c.get(0), undefined, 'the busiest loses every pair it is in');
    // The idlest wins every pair it is drawn into: half of all pairs.
    assert.ok(c.get(3)! > 1_800 && c.get(3)! < 2_200, `idle target: ${c.get(3)}`);
    assert.ok(c.get(1)! > c.get(2)!);
  });

  test('a custom random returning exactly 1 stays in range', () => {
    const cs = [candidate(0), candidate(1), candidate(2)];
    assert.notEqual(createStrategy('least-busy', { random: () => 1 }).pick(cs, req), null);
  });
});

describe('latency (power of two choices on latency × (inFlight + 1))', () => {
  test('compares the Finagle score, not raw latency', () => {
    const fastBusy = candidate(0, { latency: 100, inFlight: 9 }); // 1000
    const slowIdle = candidate(1, { latency: 400, inFlight: 0 }); // 400
    assert.equal(createStrategy('latency', { random: sequence(0, 0) }).pick([fastBusy, slowIdle], req), slowIdle);
    const fastIdle = candidate(0, { latency: 100, inFlight: 2 }); // 300
    assert.equal(createStrategy('latency', { random: sequence(0, 0) }).pick([fastIdle, slowIdle], req), fastIdle);
  });

  test('an unmeasured candidate wins its pair, whatever its load', () => {
    const measured = candidate(0, { latency: 1, inFlight: 0 });
    const unmeasured = candidate(1, { latency: 0, inFlight: 20 });
    assert.equal(createStrategy('latency', { random: sequence(0, 0) }).pick([measured, unmeasured], req), unmeasured);
  });

  test('equal scores: fewer in flight, then lower index', () => {
    const a = candidate(0, { latency: 0, inFlight: 4 });
    const b = candidate(1, { latency: 0, inFlight: 1 });
    assert.equal(createStrategy('latency', { random: sequence(0, 0) }).pick([a, b], req), b);
    const c = candidate(2, { latency: 100, inFlight: 1 }); // 200
    const d = candidate(3, { latency: 200, inFlight: 0 }); // 200
    assert.equal(createStrategy('latency', { random: sequence(0, 0) }).pick([d, c], req), d, 'fewer in flight first');
  });

  test('steers away from a slow target', () => {
    const cs = [candidate(0, { latency: 2_000 }), candidate(1, { latency: 100 }), candidate(2, { latency: 120 }), candidate(3, { latency: 110 })];
    const c = counts(picks('latency', cs, 4_000, req, mulberry32(9)));
    assert.equal(c.get(0), undefined);
    assert.ok(c.get(1)! > 1_800, `fastest: ${c.get(1)}`);
  });
});

describe('cost', () => {
  const cheapIn = candidate(0, { price: { input: 1, output: 10 } }); // 1000 + 5000 = 6000
  const cheapOut = candidate(1, { price: { input: 4, output: 2 } }); // 4000 + 1000 = 5000
  const unknown = candidate(2, { price: null });
  const free = candidate(3, { price: { input: 0, output: 0 } });

  test('the cheapest expected cost for the request', () => {
    const s = createStrategy('cost');
    assert.equal(s.pick([cheapIn, cheapOut, unknown], req), cheapOut);
    // A long prompt with a short answer makes input price matter more: 10000 + 100 vs 40000 + 20.
    assert.equal(s.pick([cheapIn, cheapOut, unknown], { ...req, promptTokens: 10_000, maxTokens: 10 }), cheapIn);
  });

  test('unknown prices sort last, even after free ones', () => {
    const s = createStrategy('cost');
    assert.equal(s.pick([unknown, free], req), free);
    assert.equal(s.pick([unknown, cheapIn], req), cheapIn);
    assert.equal(s.pick([unknown, candidate(0, { price: null })], req)!.index, 0, 'all unknown: lowest index');
  });

  test('ties go to the lower index, whatever the list order', () => {
    const x = candidate(5, { price: { input: 1, output: 1 } });
    const y = candidate(4, { price: { input: 1, output: 1 } });
    assert.equal(createStrategy('cost').pick([x, y], req), y);
  });
});

describe('region', () => {
  const us1 = candidate(0, { region: 'us' });
  const eu1 = candidate(1, { region: 'eu' });
  const none = candidate(2, { region: null });
  const eu2 = candidate(3, { region: 'eu' });

  test('the first candidate in the request region', () => {
    assert.equal(createStrategy('region').pick([us1, eu2, eu1, none], { ...req, region: 'eu' }), eu1);
  });

  test('no candidate in the region: the first candidate', () => {
    assert.equal(createStrategy('region').pick([eu2, none, us1], { ...req, region: 'ap' }), us1);
  });

  test('a request without a region takes the first candidate', () => {
    assert.equal(createStrategy('region').pick([eu1, none], { ...req, region: null }), eu1);
  });
});

describe('failover', () => {
  test('the first candidate in index order', () => {
    const cs = [candidate(4), candidate(1, { weight: 0 }), candidate(2)];
    assert.equal(createStrategy('failover').pick(cs, req)!.index, 1);
    assert.deepEqual(picks('failover', cs, 3), [1, 1, 1]);
  });
});
