import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { flush, setup, track } from './capacity-helpers.js';

describe('CapacityGate rate windows', () => {
  test('rpm: the window admits rpm requests per rolling minute', () => {
    const { gate, clock } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 3 });
    for (let i = 0; i < 3; i++) assert.equal(gate.tryAcquire(0), true);
    for (let i = 0; i < 3; i++) gate.release();
    assert.equal(gate.tryAcquire(0), false, 'releasing does not free the rate window');
    clock.advance(60_000);
    assert.equal(gate.tryAcquire(0), false, 'held for up to 65 s (5 s buckets)');
    clock.advance(5_000);
    assert.equal(gate.tryAcquire(0), true);
  });

  test('never more than rpm in any 60 s span', () => {
    const { gate, clock } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 10 });
    const admittedAt: number[] = [];
    for (let t = 0; t < 300_000; t += 700) {
      while (gate.tryAcquire(0)) admittedAt.push(clock.now());
      clock.advance(700);
    }
    for (const start of admittedAt) {
      const inSpan = admittedAt.filter((t) => t >= start && t < start + 60_000).length;
      assert.ok(inSpan <= 10, `${inSpan} in the minute from ${start}`);
    }
    assert.ok(admittedAt.length >= 40, `${admittedAt.length} admitted in 5 minutes`);
  });

  test('a waiter blocked by the rate window is woken by a timer', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 2 });
    gate.tryAcquire(0);
    gate.tryAcquire(0);
    const a = track(gate, 'a', log);
    assert.equal(clock.pendingTimers, 1, 'one rate timer (no deadline timer for Infinity)');
    gate.release();
    gate.release();
    await flush();
    assert.equal(a.state(), 'pending', 'releases free no rate');
    clock.advance(64_999);
    await flush();
    assert.equal(a.state(), 'pending');
    clock.advance(1);
    await flush();
    assert.equal(a.state(), 'admitted');
    assert.equal(clock.pendingTimers, 0, 'no one waits: no timer');
  });

  test('one rate timer at a time, cleared when the last waiter leaves', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 1, maxQueue: 5 });
    gate.tryAcquire(0);
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const waiters = controllers.map((c, i) => track(gate, `w${i}`, log, { signal: c.signal }));
    assert.equal(clock.pendingTimers, 1);
    for (const c of controllers) c.abort(new Error('bye'));
    await flush();
    assert.deepEqual(
      waiters.map((w) => w.state()),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  test('rate-blocked waiters are admitted one window at a time, in order', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 1 });
    gate.tryAcquire(0);
    track(gate, 'a', log);
    track(gate, 'b', log, { priority: 1 });
    clock.advance(65_000);
    await flush();
    assert.deepEqual(log, ['b']);
    clock.advance(65_000);
    await flush();
    assert.deepEqual(log, ['b', 'a']);
  });

  test('concurrency and rate together: a release admits only when the window also has room', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: 1, rpm: 1 });
    gate.tryAcquire(0);
    track(gate, 'a', log);
    assert.equal(clock.pendingTimers, 0, 'concurrency blocks: a release will wake it');
    gate.release();
    await flush();
    assert.deepEqual(log, []);
    assert.equal(clock.pendingTimers, 1, 'now the rate window blocks: a timer');
    clock.advance(65_000);
    await flush();
    assert.deepEqual(log, ['a']);
  });

  test('tpm: token estimates fill the window', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    assert.equal(gate.tryAcquire(600), true);
    assert.equal(gate.tryAcquire(500), false);
    assert.equal(gate.tryAcquire(400), true);
    assert.equal(gate.tryAcquire(1), false);
  });

  test('a request estimated above tpm is admitted when the token window is empty', () => {
    const { gate, clock } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    assert.equal(gate.tryAcquire(5_000), true);
    assert.equal(gate.tryAcquire(1), false);
    clock.advance(65_000);
    gate.tryAcquire(1);
    assert.equal(gate.tryAcquire(5_000), false, 'not while anything is in the window');
  });

  test('token correction: an overestimate is refunded', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(800);
    gate.release(200, 800);
    assert.equal(gate.tryAcquire(801), false);
    assert.equal(gate.tryAcquire(800), true, '200 + 800');
  });

  test('token correction: an underestimate is charged', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(100);
    gate.release(900, 100);
    assert.equal(gate.tryAcquire(101), false);
    assert.equal(gate.tryAcquire(100), true);
  });

  test('release(actual) without the estimate uses the mean estimate in flight', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(300);
    gate.tryAcquire(300);
    gate.release(100); // refunds 200
    gate.release(100); // refunds 200
    assert.equal(gate.tryAcquire(801), false);
    assert.equal(gate.tryAcquire(800), true, '100 + 100 + 800');
  });

  test('release without tokens leaves the estimate in the window', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(700);
    gate.release();
    assert.equal(gate.tryAcquire(301), false);
    assert.equal(gate.tryAcquire(300), true);
  });

  test('a refund wakes a waiter blocked by the token window', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(800);
    track(gate, 'a', log, { tokens: 500 });
    assert.equal(clock.pendingTimers, 1);
    gate.release(100, 800);
    await flush();
    assert.deepEqual(log, ['a']);
    assert.equal(clock.pendingTimers, 0);
  });

  test('the token timer waits for enough old buckets to expire', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1_000 });
    gate.tryAcquire(300); // bucket [0, 5 s): expires at 65 s
    clock.advance(10_000);
    gate.tryAcquire(600); // bucket [10 s, 15 s): expires at 75 s
    track(gate, 'a', log, { tokens: 800 }); // needs both gone
    clock.advance(55_000);
    await flush();
    assert.deepEqual(log, [], 'at 65 s only 300 are gone: 600 + 800 > 1000');
    clock.advance(10_000);
    await flush();
    assert.deepEqual(log, ['a']);
  });

  test('cancel takes back the request and its tokens', () => {
    const { gate } = setup({ maxConcurrent: 1, rpm: 1, tpm: 1_000 });
    assert.equal(gate.tryAcquire(900), true);
    gate.cancel(900);
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.tryAcquire(1_000), true, 'the window is empty again');
  });
});
