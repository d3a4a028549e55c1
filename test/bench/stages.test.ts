import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArrivalSchedule } from '../../src/bench/schedule.js';
import { constantStages, formatStages, parseStages, PROFILE_NAMES, profileStages, totalDurationMs } from '../../src/bench/stages.js';
import { BenchUsageError } from '../../src/bench/usage-error.js';

describe('parseStages', () => {
  test('DURATION:RATE pairs with units', () => {
    assert.deepEqual(parseStages('10s:100,30s:500,10s:0'), [
      { durationMs: 10_000, rate: 100 },
      { durationMs: 30_000, rate: 500 },
      { durationMs: 10_000, rate: 0 },
    ]);
    assert.deepEqual(parseStages(' 0s:50 , 1.5m:50/s, 250ms:2.5 '), [
      { durationMs: 0, rate: 50 },
      { durationMs: 90_000, rate: 50 },
      { durationMs: 250, rate: 2.5 },
    ]);
  });

  test('round-trips through formatStages', () => {
    assert.equal(formatStages(parseStages('10s:100,30s:500,250ms:0')), '10s:100,30s:500,250ms:0');
  });

  const bad: [string, RegExp][] = [
    ['', /stage 1.*DURATION:RATE/],
    ['10s', /stage 1.*DURATION:RATE/],
    ['10:100', /not a duration.*unit/],
    ['10s:fast', /not a rate/],
    ['10s:-5', /not a rate/],
    ['10s:100,', /stage 2/],
    ['10s:100,,5s:1', /stage 2/],
    ['0s:100', /no time at all/],
  ];
  for (const [spec, message] of bad) {
    test(`rejects ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseStages(spec), (err: unknown) => err instanceof BenchUsageError && message.test(err.message));
    });
  }
});

describe('profiles', () => {
  test('every profile lasts D and peaks where documented', () => {
    const peaks: Record<string, number> = { smoke: 1, load: 1, stress: 2, soak: 1, spike: 1 };
    for (const name of PROFILE_NAMES) {
      const p = profileStages(name, 200, 60_000);
      assert.equal(totalDurationMs(p.stages), 60_000, name);
      assert.equal(Math.max(...p.stages.map((s) => s.rate)), 200 * (peaks[name] as number), name);
    }
  });

  test('defaults: smoke is 5/s for 10 s, 50 requests', () => {
    const p = profileStages('smoke');
    assert.equal(p.rate, 5);
    assert.equal(p.durationMs, 10_000);
    assert.equal(new ArrivalSchedule(p.stages).requests, 50);
  });

  test('load ramps up over 10%, holds 80%, ramps down 10%', () => {
    const s = new ArrivalSchedule(profileStages('load', 100, 100_000).stages);
    assert.equal(Math.round(s.rateAt(5_000)), 50);
    assert.equal(Math.round(s.rateAt(50_000)), 100);
    assert.equal(Math.round(s.rateAt(95_000)), 50);
    assert.equal(s.requests, 500 + 8000 + 500);
  });

  test('spike sits at R/10, jumps to R, and returns', () => {
    const s = new ArrivalSchedule(profileStages('spike', 1000, 100_000).stages);
    assert.equal(Math.round(s.rateAt(20_000)), 100);
    assert.equal(Math.round(s.rateAt(50_000)), 1000);
    assert.equal(Math.round(s.rateAt(80_000)), 100);
  });

  test('invalid rate or duration', () => {
    assert.throws(() => profileStages('load', 0), BenchUsageError);
    assert.throws(() => profileStages('load', 10, -1), BenchUsageError);
  });

  test('constantStages is a step then a hold', () => {
    assert.deepEqual(constantStages(7, 3000), [
      { durationMs: 0, rate: 7 },
      { durationMs: 3000, rate: 7 },
    ]);
  });
});
