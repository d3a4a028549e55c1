import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateSlos, parseSlo, type SloFacts } from '../../src/bench/slo.js';
import { BenchUsageError } from '../../src/bench/usage-error.js';

describe('parseSlo', () => {
  test('the documented example', () => {
    assert.deepEqual(parseSlo('p99<200ms,errors<0.1%'), [
      { text: 'p99<200ms', metric: { kind: 'latency', source: 'latency', stat: 99 }, op: '<', value: 200 },
      { text: 'errors<0.1%', metric: { kind: 'errors', percent: true }, op: '<', value: 0.1 },
    ]);
  });

  test('units, operators, spaces, stream metrics, counts and rates', () => {
    const slos = parseSlo(' p99.9 <= 1.5s , max<2000 , mean<1ms, ttft.p95<500ms, itl_p99<100us, errors<=5, rate>=900/s, P50>0.2ms');
    assert.deepEqual(
      slos.map((s) => [s.metric, s.op, s.value]),
      [
        [{ kind: 'latency', source: 'latency', stat: 99.9 }, '<=', 1500],
        [{ kind: 'latency', source: 'latency', stat: 'max' }, '<', 2000],
        [{ kind: 'latency', source: 'latency', stat: 'mean' }, '<', 1],
        [{ kind: 'latency', source: 'ttft', stat: 95 }, '<', 500],
        [{ kind: 'latency', source: 'itl', stat: 99 }, '<', 0.1],
        [{ kind: 'errors', percent: false }, '<=', 5],
        [{ kind: 'rate' }, '>=', 900],
        [{ kind: 'latency', source: 'latency', stat: 50 }, '>', 0.2],
      ],
    );
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['p99', /METRIC OP VALUE/],
    ['p99<', /METRIC OP VALUE/],
    ['p99=200ms', /METRIC OP VALUE/],
    ['latency<5ms', /METRIC OP VALUE/],
    ['p99<200ms,', /clause 2.*empty/],
    ['p0<1ms', /percentile/],
    ['p101<1ms', /percentile/],
    ['p99<5%', /latency takes/],
    ['errors<1ms', /percentage.*count/],
    ['errors<101%', /above 100/],
    ['rate>5ms', /requests per second/],
    ['ttft.errors<1', /latencies only/],
    ['p99<-1ms', /METRIC OP VALUE/],
  ];
  for (const [spec, message] of bad) {
    test(`rejects ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseSlo(spec), (err: unknown) => err instanceof BenchUsageError && message.test(err.message));
    });
  }
});

describe('evaluateSlos', () => {
  const facts: SloFacts = {
    latency: (source, stat) => (source === 'ttft' ? null : stat === 'max' ? 40 : stat === 'mean' ? 3 : typeof stat === 'number' && stat >= 99 ? 12 : 2),
    errors: 3,
    attempts: 1000,
    rate: 950,
  };

  test('each clause holds or not, with the measured value', () => {
    const r = evaluateSlos(parseSlo('p99<200ms,p99<10ms,errors<0.1%,errors<=3,errors<1%,rate>=900,max<=40,mean>5'), facts);
    assert.deepEqual(
      r.map((x) => [x.text, x.ok, x.actual]),
      [
        ['p99<200ms', true, 12],
        ['p99<10ms', false, 12],
        ['errors<0.1%', false, 0.3],
        ['errors<=3', true, 3],
        ['errors<1%', true, 0.3],
        ['rate>=900', true, 950],
        ['max<=40', true, 40],
        ['mean>5', false, 3],
      ],
    );
  });

  test('a metric without data fails rather than passing silently', () => {
    const [r] = evaluateSlos(parseSlo('ttft.p99<1s'), facts);
    assert.deepEqual(r, { text: 'ttft.p99<1s', ok: false, actual: null });
    const [e] = evaluateSlos(parseSlo('errors<1%'), { ...facts, attempts: 0, errors: 0 });
    assert.equal(e?.ok, false);
  });
});
