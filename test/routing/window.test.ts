import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingCounter } from '../../src/routing/window.js';

describe('RollingCounter', () => {
  test('sums what was added', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(0, 3);
    w.add(2_500, 4);
    assert.equal(w.total(2_500), 7);
  });

  test('an event counts for at least windowMs and at most windowMs + one bucket', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(1_999, 1); // bucket [1 s, 2 s)
    assert.equal(w.total(11_999), 1, 'windowMs later');
    assert.equal(w.total(12_000), 0, 'gone when its bucket leaves, 10 s after the bucket ends');
    const v = new RollingCounter(10_000, 10);
    v.add(1_000, 1);
    assert.equal(v.total(11_999), 1, 'windowMs + a bucket - 1 ms later');
    assert.equal(v.total(12_000), 0);
  });

  test('buckets expire one by one', () => {
    const w = new RollingCounter(10_000, 10);
    for (let s = 0; s < 5; s++) w.add(s * 1_000, 1);
    assert.equal(w.total(11_000), 4);
    assert.equal(w.total(13_500), 2);
    assert.equal(w.total(15_000), 0);
  });

  test('a long idle gap clears everything', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(0, 5);
    assert.equal(w.total(1_000_000), 0);
    w.add(1_000_000, 2);
    assert.equal(w.total(1_000_000), 2);
  });

  test('a time earlier than one seen counts in the newest bucket', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(5_000, 1);
    w.add(1_000, 1);
    assert.equal(w.total(15_999), 2);
    assert.equal(w.total(16_000), 0);
  });

  test('subtractOldest takes from the oldest buckets first, never below 0', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(0, 3);
    w.add(5_000, 4);
    w.subtractOldest(5_000, 5);
    assert.equal(w.total(5_000), 2);
    assert.equal(w.total(11_000), 2, 'the first bucket was emptied; the second keeps 2');
    w.subtractOldest(11_000, 10);
    assert.equal(w.total(11_000), 0);
  });

  test('msUntilAtMost: when enough old buckets will have expired', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(0, 3); // leaves at 11 s
    w.add(4_200, 4); // leaves at 15 s
    assert.equal(w.msUntilAtMost(5_000, 7), 0);
    assert.equal(w.msUntilAtMost(5_000, 4), 6_000);
    assert.equal(w.msUntilAtMost(5_000, 3), 10_000);
    assert.equal(w.msUntilAtMost(5_000, 0), 10_000);
    assert.equal(w.total(5_000 + 10_000), 0);
  });

  test('reset empties it', () => {
    const w = new RollingCounter(10_000, 10);
    w.add(0, 3);
    w.reset();
    assert.equal(w.total(0), 0);
    w.add(0, 1);
    assert.equal(w.total(0), 1);
  });

  test('invalid arguments are RangeErrors', () => {
    assert.throws(() => new RollingCounter(0, 10), /^RangeError: windowMs/);
    assert.throws(() => new RollingCounter(1_000, 0), /^RangeError: buckets/);
  });
});
