import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArrivalSchedule } from '../../src/bench/schedule.js';
import { constantStages, type Stage } from '../../src/bench/stages.js';

function close(actual: number | null, expected: number, eps = 1e-6): void {
  assert.notEqual(actual, null);
  assert.ok(Math.abs((actual as number) - expected) <= eps, `expected ${expected}, got ${actual}`);
}

describe('ArrivalSchedule: constant rate', () => {
  test('request i is due at i / rate, from the start time alone', () => {
    const s = new ArrivalSchedule(constantStages(100, 10_000));
    assert.equal(s.requests, 1000);
    assert.equal(s.durationMs, 10_000);
    close(s.timeOf(0), 0);
    close(s.timeOf(1), 10);
    close(s.timeOf(500), 5000);
    close(s.timeOf(999), 9990);
    assert.equal(s.timeOf(1000), null, 'the request due at exactly the end is outside the run');
    assert.equal(s.timeOf(-1), null);
  });

  test('fractional rates and intervals', () => {
    const s = new ArrivalSchedule(constantStages(3, 1000));
    assert.equal(s.requests, 3);
    close(s.timeOf(1), 1000 / 3);
    close(s.timeOf(2), 2000 / 3);
  });

  test('a duration limit cuts the schedule short', () => {
    const s = new ArrivalSchedule(constantStages(1000, 60_000), 2_500);
    assert.equal(s.durationMs, 2_500);
    assert.equal(s.requests, 2_500);
    close(s.timeOf(2_499), 2_499);
  });
});

describe('ArrivalSchedule: ramps and stages', () => {
  test('a ramp from 0 to R over D: N(t) = R t² / 2D, so t_i = √(2 i D / R)', () => {
    const s = new ArrivalSchedule([{ durationMs: 10_000, rate: 100 }]);
    assert.equal(s.requests, 500); // the area of the triangle: 100/s × 10 s / 2
    for (const i of [0, 1, 10, 250, 499]) close(s.timeOf(i), Math.sqrt((2 * i * 10_000) / 0.1), 1e-6);
  });

  test('a ramp down from R to 0 mirrors the ramp up', () => {
    const s = new ArrivalSchedule([
      { durationMs: 0, rate: 100 },
      { durationMs: 10_000, rate: 0 },
    ]);
    assert.equal(s.requests, 500);
    // N(t) = r0 t − r0 t²/2D with r0 = 0.1/ms: request 375 (3/4 of the area) is due at t = D/2.
    close(s.timeOf(375), 5000, 1e-6);
    assert.ok((s.timeOf(499) as number) < 10_000);
  });

  test('"10s:100,30s:500,10s:0": counts per stage and continuity across stage boundaries', () => {
    const stages: Stage[] = [
      { durationMs: 10_000, rate: 100 },
      { durationMs: 30_000, rate: 500 },
      { durationMs: 10_000, rate: 0 },
    ];
    const s = new ArrivalSchedule(stages);
    // 500 + (100+500)/2·30 = 9000 + 500·10/2 = 2500 → 12000 in all.
    assert.equal(s.requests, 500 + 9000 + 2500);
    close(s.timeOf(500), 10_000, 1e-6); // the first request of stage 2 is due as it starts
    close(s.timeOf(9_500), 40_000, 1e-6);
    close(s.expectedBy(10_000), 500, 1e-9);
    close(s.expectedBy(40_000), 9_500, 1e-9);
    close(s.rateAt(25_000), 300, 1e-9);
  });

  test('times are non-decreasing and N(t_i) = i throughout a mixed schedule', () => {
    const s = new ArrivalSchedule([
      { durationMs: 0, rate: 50 },
      { durationMs: 2_000, rate: 50 },
      { durationMs: 1_000, rate: 400 },
      { durationMs: 0, rate: 10 },
      { durationMs: 3_000, rate: 10 },
    ]);
    let prev = -1;
    for (let i = 0; i < s.requests; i++) {
      const t = s.timeOf(i) as number;
      assert.ok(t >= prev, `t_${i} = ${t} < t_${i - 1} = ${prev}`);
      close(s.expectedBy(t), i, 1e-6);
      prev = t;
    }
  });

  test('a zero-rate stage is a pause, and a step (0s) changes the rate at once', () => {
    const s = new ArrivalSchedule([
      { durationMs: 0, rate: 10 },
      { durationMs: 1_000, rate: 10 },
      { durationMs: 0, rate: 0 },
      { durationMs: 5_000, rate: 0 },
      { durationMs: 0, rate: 10 },
      { durationMs: 1_000, rate: 10 },
    ]);
    assert.equal(s.requests, 20);
    close(s.timeOf(9), 900);
    close(s.timeOf(10), 6_000);
    close(s.timeOf(19), 6_900);
  });

  test('a limit inside a ramp interpolates the rate where it falls', () => {
    const s = new ArrivalSchedule([{ durationMs: 10_000, rate: 1000 }], 5_000);
    assert.equal(s.durationMs, 5_000);
    close(s.rateAt(5_000), 500, 1e-9);
    assert.equal(s.requests, 1250); // 500/s peak × 5 s / 2
  });

  test('nothing scheduled: zero rate throughout', () => {
    const s = new ArrivalSchedule([{ durationMs: 5_000, rate: 0 }]);
    assert.equal(s.requests, 0);
    assert.equal(s.timeOf(0), null);
  });
});
