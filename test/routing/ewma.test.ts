import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { PeakEwma } from '../../src/routing/ewma.js';

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

describe('PeakEwma', () => {
  test('0 before any sample (an unmeasured target looks fastest)', () => {
    assert.equal(new PeakEwma(1_000, new FakeClock()).value(), 0);
  });

  test('the first sample is taken as is, however low', () => {
    const e = new PeakEwma(1_000, new FakeClock());
    e.observe(40);
    assert.equal(e.value(), 40);
    const z = new PeakEwma(1_000, new FakeClock());
    z.observe(0);
    assert.equal(z.value(), 0);
  });

  test('a higher sample replaces the value at once', () => {
    const clock = new FakeClock();
    const e = new PeakEwma(1_000, clock);
    e.observe(100);
    clock.advance(1);
    e.observe(900);
    assert.equal(e.value(), 900);
  });

  test('a lower sample pulls the value toward it with weight exp(-elapsed/decay)', () => {
    const clock = new FakeClock();
    const e = new PeakEwma(1_000, clock);
    e.observe(100);
    clock.advance(1_000);
    e.observe(50);
    // w = e^-1: 100w + 50(1 - w)
    close(e.value(), 100 * Math.exp(-1) + 50 * (1 - Math.exp(-1)));
    close(e.value(), 68.39397205857212);
    clock.advance(500);
    e.observe(50);
    const w = Math.exp(-0.5);
    close(e.value(), 68.39397205857212 * w + 50 * (1 - w));
  });

  test('a long gap lets the new sample dominate; a short one barely moves the value', () => {
    const clock = new FakeClock();
    const e = new PeakEwma(1_000, clock);
    e.observe(1_000);
    clock.advance(20_000);
    e.observe(10);
    close(e.value(), 1_000 * Math.exp(-20) + 10 * (1 - Math.exp(-20)));
    assert.ok(e.value() < 10.000003);

    const f = new PeakEwma(10_000, clock);
    f.observe(1_000);
    clock.advance(10);
    f.observe(10);
    close(f.value(), 1_000 * Math.exp(-0.001) + 10 * (1 - Math.exp(-0.001)));
    assert.ok(f.value() > 999);
  });

  test('a sample at the same instant as the previous one has no weight unless it is a peak', () => {
    const clock = new FakeClock();
    const e = new PeakEwma(1_000, clock);
    e.observe(100);
    e.observe(10);
    assert.equal(e.value(), 100);
    e.observe(150);
    assert.equal(e.value(), 150);
  });

  test('the value does not change between samples', () => {
    const clock = new FakeClock();
    const e = new PeakEwma(1_000, clock);
    e.observe(100);
    clock.advance(60_000);
    assert.equal(e.value(), 100);
  });

  test('invalid arguments are RangeErrors', () => {
    assert.throws(() => new PeakEwma(0, new FakeClock()), /^RangeError: decayMs/);
    assert.throws(() => new PeakEwma(Number.POSITIVE_INFINITY, new FakeClock()), RangeError);
    const e = new PeakEwma(1_000, new FakeClock());
    assert.throws(() => e.observe(-1), RangeError);
    assert.throws(() => e.observe(Number.NaN), RangeError);
    assert.equal(e.value(), 0);
  });
});
