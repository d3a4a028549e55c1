import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/lib/clock.js';
import { PeriodicCheck } from '../../src/stores/check.js';

/** Lets settled promises run their callbacks. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PeriodicCheck', () => {
  test('probes at start and every interval, one at a time; follows failures and recoveries', async () => {
    const clock = new FakeClock();
    let mode: 'up' | 'down' | 'hang' = 'up';
    let probes = 0;
    const check = new PeriodicCheck(
      () => {
        probes++;
        if (mode === 'down') return Promise.reject(new Error('connection refused'));
        if (mode === 'hang') return new Promise(() => {});
        return Promise.resolve();
      },
      clock,
      1000,
    );
    check.start();
    await flush();
    assert.equal(probes, 1);
    assert.equal(check.status().healthy, true);
    mode = 'down';
    clock.advance(1000);
    await flush();
    assert.equal(probes, 2);
    assert.deepEqual(check.status(), { healthy: false, since: clock.now(), lastError: 'connection refused' });
    mode = 'hang';
    clock.advance(1000);
    await flush();
    assert.equal(probes, 3);
    clock.advance(999);
    await flush();
    assert.equal(probes, 3, 'no second probe while one is pending');
    clock.advance(1);
    await flush();
    assert.equal(check.status().lastError, 'no answer within 1000 ms');
    mode = 'up';
    clock.advance(1000);
    await flush();
    assert.equal(check.status().healthy, true);
    check.stop();
    clock.advance(10_000);
    await flush();
    assert.equal(probes, 4, "none after stop");
    assert.equal(clock.pendingTimers, 0);
  });

  test('a probe that throws synchronously is a failure; the interval is checked at construction', async () => {
    const clock = new FakeClock();
    const check = new PeriodicCheck(
      () => {
        throw new Error('no pool');
      },
      clock,
      500,
    );
    check.start();
    await flush();
    assert.equal(check.status().healthy, false);
    check.stop();
    assert.throws(() => new PeriodicCheck(() => Promise.resolve(), clock, 0), RangeError);
  });
});
