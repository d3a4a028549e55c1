import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { RetryBudget, backoffMs, parseRetryAfter } from '../../src/routing/retry.js';
import { mulberry32 } from './helpers.js';

describe('backoffMs', () => {
  test('full jitter: random() times the capped exponential', () => {
    const half = (): number => 0.5;
    assert.equal(backoffMs(0, 100, 10_000, half), 50);
    assert.equal(backoffMs(1, 100, 10_000, half), 100);
    assert.equal(backoffMs(2, 100, 10_000, half), 200);
    assert.equal(backoffMs(3, 100, 10_000, half), 400);
  });

  test('the ceiling is maxMs', () => {
    assert.equal(backoffMs(10, 100, 5_000, () => 0.5), 2_500);
    assert.equal(backoffMs(6, 100, 5_000, () => 0.999), 4_995);
  });

  test('random 0 gives 0 (full jitter may retry at once)', () => {
    assert.equal(backoffMs(5, 100, 10_000, () => 0), 0);
  });

  test('huge attempts do not overflow to NaN or Infinity', () => {
    assert.equal(backoffMs(5_000, 100, 30_000, () => 0.5), 15_000);
    assert.equal(backoffMs(5_000, 0, 30_000, () => 0.5), 0);
  });

  test('with a seeded source every value lies in [0, min(max, base * 2^attempt))', () => {
    const random = mulberry32(7);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(8_000, 100 * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const ms = backoffMs(attempt, 100, 8_000, random);
        assert.ok(ms >= 0 && ms < ceiling, `attempt ${attempt}: ${ms}`);
      }
    }
  });

  test('invalid arguments are RangeErrors', () => {
    assert.throws(() => backoffMs(-1, 100, 1_000, Math.random), RangeError);
    assert.throws(() => backoffMs(0.5, 100, 1_000, Math.random), RangeError);
    assert.throws(() => backoffMs(0, -1, 1_000, Math.random), RangeError);
    assert.throws(() => backoffMs(0, 100, Number.NaN, Math.random), RangeError);
  });
});

describe('parseRetryAfter', () => {
  // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date.
  const now = Date.UTC(1994, 10, 6, 8, 49, 37);

  test('absent is null', () => {
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
    assert.equal(parseRetryAfter('', now), null);
  });

  test('delta-seconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('  7 ', now), 7_000);
    assert.equal(parseRetryAfter('007', now), 7_000);
  });

  test('fractional seconds are accepted (some providers send them)', () => {
    assert.equal(parseRetryAfter('1.5', now), 1_500);
    assert.equal(parseRetryAfter('0.25', now), 250);
  });

  test('IMF-fixdate', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:50:07 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 07 Nov 1994 08:49:37 GMT', now), 86_400_000);
  });

  test('a date in the past is 0', () => {
    assert.equal(parseRetryAfter('Sat, 05 Nov 1994 08:49:37 GMT', now), 0);
  });

  test('the obsolete RFC 850 and asctime forms', () => {
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:50:37 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Sun Nov  6 08:51:37 1994', now), 120_000);
    assert.equal(parseRetryAfter('Sun Nov 16 08:49:37 1994', now), 10 * 86_400_000);
  });

  test('RFC 850 two-digit years more than 50 years ahead are in the past century', () => {
    const in2030 = Date.UTC(2030, 0, 1);
    assert.equal(parseRetryAfter('Tuesday, 01-Jan-30 00:00:10 GMT', in2030), 10_000);
    // 2079 is more than 50 years after 2028, so "79" means 1979: long past.
    const in2028 = Date.UTC(2028, 0, 1);
    assert.equal(parseRetryAfter('Monday, 01-Jan-79 00:00:00 GMT', in2028), 0);
    assert.equal(parseRetryAfter('Monday, 01-Jan-29 00:00:00 GMT', in2028), Date.UTC(2029, 0, 1) - in2028);
  });

  test('names in any letter case', () => {
    assert.equal(parseRetryAfter('sun, 06 NOV 1994 08:50:07 GMT', now), 30_000);
  });

  test('a leap second reads as the next second', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:60 GMT', now), 23_000);
  });

  test('invalid values are null', () => {
    for (const v of [
      '-1',
      '+5',
      '1e3',
      'soon',
      '5 s',
      '0x10',
      '1.',
      '.5',
      'Sun, 06 Nov 1994 08:49:37',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Foo 1994 08:49:37 GMT',
      'Xyz, 06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      '1994-11-06T08:49:37Z',
      'Sun, 06 Nov 94 08:49:37 GMT',
    ]) {
      assert.equal(parseRetryAfter(v, now), null, v);
    }
  });
});

describe('RetryBudget', () => {
  function withdrawAll(budget: RetryBudget): number {
    let n = 0;
    while (budget.tryWithdraw()) n++;
    return n;
  }

  test('ratio 0.2 over 100 requests allows exactly 20 retries', () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 }, clock);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 20);
    assert.equal(budget.tryWithdraw(), false);
  });

  test('retries < ratio × requests: a fraction of a retry left allows one more', () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 }, clock);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 20);
    budget.recordRequest();
    assert.equal(withdrawAll(budget), 1, '101 requests: 20 < 20.2');
    for (let i = 0; i < 4; i++) budget.recordRequest();
    assert.equal(budget.tryWithdraw(), false, '105 requests: 21 is not < 21');
    budget.recordRequest();
    assert.equal(withdrawAll(budget), 1, '106 requests: 21 < 21.2');
  });

  test('float error does not add a retry (0.1 × 30 = 3)', () => {
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0, windowMs: 10_000 }, new FakeClock(0));
    for (let i = 0; i < 30; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 3);
  });

  test('the floor allows retries at low traffic: the larger of floor and share, not their sum', () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0.5, windowMs: 10_000 }, clock);
    assert.equal(withdrawAll(budget), 5, 'no traffic at all: 0.5/s × 10 s');
    for (let i = 0; i < 20; i++) budget.recordRequest();
    assert.equal(budget.tryWithdraw(), false, '20 requests: max(5, 4) = 5, all taken');
    for (let i = 0; i < 80; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 15, '100 requests: max(5, 20) = 20');
  });

  test('the window slides: old requests and old retries age out', () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 10_000 }, clock);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 5);
    clock.advance(5_000);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 5, '20 requests allow 10; 5 were taken');
    // Buckets are 1 s: the t=0 events are gone once t >= 11 s.
    clock.advance(6_000);
    assert.equal(withdrawAll(budget), 0, '10 requests allow 5; the t=5s retries still count');
    clock.advance(5_000);
    assert.equal(budget.tryWithdraw(), false, 'no requests left in the window');
    for (let i = 0; i < 4; i++) budget.recordRequest();
    assert.equal(withdrawAll(budget), 2);
  });

  test('an event counts for at least windowMs', () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 10_000 }, clock);
    clock.advance(999);
    budget.recordRequest();
    clock.advance(9_999);
    assert.equal(budget.tryWithdraw(), true, '10 s less a ms later, the request still counts');
  });

  test('invalid options are RangeErrors naming the option', () => {
    const clock = new FakeClock(0);
    assert.throws(() => new RetryBudget({ ratio: -1, minPerSecond: 0, windowMs: 1 }, clock), /^RangeError: ratio/);
    assert.throws(() => new RetryBudget({ ratio: 0.1, minPerSecond: Number.NaN, windowMs: 1 }, clock), /^RangeError: minPerSecond/);
    assert.throws(() => new RetryBudget({ ratio: 0.1, minPerSecond: 0, windowMs: 0 }, clock), /^RangeError: windowMs/);
  });
});
