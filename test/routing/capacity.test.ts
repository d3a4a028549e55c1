import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { CapacityError, CapacityGate, type CapacityOptions } from '../../src/routing/capacity.js';
import { flush, never, setup, track } from './capacity-helpers.js';

describe('CapacityGate options', () => {
  test('invalid options are RangeErrors naming the option', () => {
    const clock = new FakeClock(0);
    const ok: CapacityOptions = { maxConcurrent: 1, maxQueue: 0 };
    assert.throws(() => new CapacityGate({ ...ok, maxConcurrent: 0 }, clock), /^RangeError: maxConcurrent/);
    assert.throws(() => new CapacityGate({ ...ok, maxConcurrent: 1.5 }, clock), /^RangeError: maxConcurrent/);
    assert.throws(() => new CapacityGate({ ...ok, maxQueue: -1 }, clock), /^RangeError: maxQueue/);
    assert.throws(() => new CapacityGate({ ...ok, rpm: 0 }, clock), /^RangeError: rpm/);
    assert.throws(() => new CapacityGate({ ...ok, tpm: Number.NaN }, clock), /^RangeError: tpm/);
    assert.doesNotThrow(() => new CapacityGate({ maxConcurrent: Number.POSITIVE_INFINITY, maxQueue: 0, rpm: undefined }, clock));
  });

  test('bad tokens: tryAcquire throws, acquire rejects', async () => {
    const { gate } = setup();
    assert.throws(() => gate.tryAcquire(-1), RangeError);
    await assert.rejects(gate.acquire(Number.NaN, 0, 1_000, never), RangeError);
    await assert.rejects(gate.acquire(1, Number.NaN, 1_000, never), RangeError);
  });
});

describe('CapacityGate concurrency', () => {
  test('tryAcquire takes free slots up to maxConcurrent; release gives them back', () => {
    const { gate } = setup({ maxConcurrent: 2 });
    assert.equal(gate.tryAcquire(0), true);
    assert.equal(gate.tryAcquire(0), true);
    assert.equal(gate.tryAcquire(0), false);
    assert.equal(gate.inFlight, 2);
    gate.release();
    assert.equal(gate.inFlight, 1);
    assert.equal(gate.tryAcquire(0), true);
  });

  test('Infinity means no cap', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 1_000; i++) assert.equal(gate.tryAcquire(10), true);
    assert.equal(gate.inFlight, 1_000);
  });

  test('acquire resolves at once when a slot is free', async () => {
    const { gate, log } = setup();
    const a = track(gate, 'a', log);
    await flush();
    assert.equal(a.state(), 'admitted');
    assert.equal(gate.inFlight, 1);
    assert.deepEqual(gate.waitStats(), { count: 1, totalWaitMs: 0 });
  });

  test('release wakes exactly one waiter', async () => {
    const { gate, log } = setup();
    gate.tryAcquire(0);
    track(gate, 'a', log);
    track(gate, 'b', log);
    track(gate, 'c', log);
    await flush();
    assert.deepEqual(log, []);
    assert.equal(gate.queued, 3);
    gate.release();
    await flush();
    assert.deepEqual(log, ['a']);
    assert.equal(gate.inFlight, 1);
    assert.equal(gate.queued, 2);
  });

  test('a release with nothing in flight is ignored', () => {
    const { gate } = setup();
    gate.release();
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.tryAcquire(0), true);
    assert.equal(gate.tryAcquire(0), false, 'the stray release did not make room for two');
  });
});

describe('CapacityGate queue', () => {
  test('higher priority first, FIFO within a priority', async () => {
    const { gate, log } = setup();
    gate.tryAcquire(0);
    track(gate, 'low', log, { priority: 1 });
    track(gate, 'high-1', log, { priority: 5 });
    track(gate, 'mid', log, { priority: 3 });
    track(gate, 'high-2', log, { priority: 5 });
    track(gate, 'low-2', log, { priority: 1 });
    track(gate, 'high-3', log, { priority: 5 });
    for (let i = 0; i < 6; i++) {
      gate.release();
      await flush();
    }
    assert.deepEqual(log, ['high-1', 'high-2', 'high-3', 'mid', 'low', 'low-2']);
  });

  test('FIFO holds over many waiters of one priority', async () => {
    const { gate, log } = setup({ maxQueue: 100 });
    gate.tryAcquire(0);
    const names = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const n of names) track(gate, n, log, { priority: 2 });
    for (let i = 0; i < 50; i++) gate.release();
    await flush();
    assert.deepEqual(log, names);
  });

  test('tryAcquire does not jump the queue', async () => {
    const { gate, log } = setup({ maxConcurrent: 1, tpm: 1_000 });
    gate.tryAcquire(600);
    gate.release(); // the 600 stay in the token window
    track(gate, 'big', log, { tokens: 500 });
    await flush();
    assert.equal(gate.queued, 1);
    assert.equal(gate.tryAcquire(1), false, 'a small request would fit, but someone waits');
  });

  test('an arrival with a higher priority than a blocked head goes first if it fits', async () => {
    const { gate, log } = setup({ maxConcurrent: 5, tpm: 1_000 });
    gate.tryAcquire(600);
    track(gate, 'big', log, { tokens: 500, priority: 0 });
    track(gate, 'small-same', log, { tokens: 100, priority: 0 });
    track(gate, 'small-high', log, { tokens: 100, priority: 9 });
    await flush();
    assert.deepEqual(log, ['small-high']);
    assert.equal(gate.queued, 2);
  });

  test('queue_full at once when maxQueue are waiting', async () => {
    const { gate, log } = setup({ maxQueue: 2 });
    gate.tryAcquire(0);
    track(gate, 'a', log);
    track(gate, 'b', log);
    const c = track(gate, 'c', log, { deadlineMs: 60_000 });
    await flush();
    assert.equal(c.state(), 'rejected');
    assert.ok(c.error() instanceof CapacityError);
    assert.equal((c.error() as CapacityError).reason, 'queue_full');
    assert.equal(gate.queued, 2);
  });

  test('maxQueue 0: never waits', async () => {
    const { gate } = setup({ maxQueue: 0 });
    await gate.acquire(0, 0, 1_000, never);
    await assert.rejects(gate.acquire(0, 0, 1_000, never), (err: unknown) => err instanceof CapacityError && err.reason === 'queue_full');
  });

  test('deadline: rejected when deadlineMs passes, and removed from the queue', async () => {
    const { gate, clock, log } = setup();
    gate.tryAcquire(0);
    const a = track(gate, 'a', log, { deadlineMs: 1_000 });
    const b = track(gate, 'b', log);
    clock.advance(999);
    await flush();
    assert.equal(a.state(), 'pending');
    clock.advance(1);
    await flush();
    assert.equal(a.state(), 'rejected');
    assert.equal((a.error() as CapacityError).reason, 'deadline');
    assert.equal(gate.queued, 1);
    gate.release();
    await flush();
    assert.equal(b.state(), 'admitted', 'the next waiter gets the slot');
    assert.deepEqual(log, ['b']);
  });

  test('a deadline of 0 does not wait', async () => {
    const { gate } = setup();
    gate.tryAcquire(0);
    await assert.rejects(gate.acquire(0, 0, 0, never), (err: unknown) => err instanceof CapacityError && err.reason === 'deadline');
    assert.equal(gate.queued, 0);
  });

  test('an admitted waiter clears its deadline timer', async () => {
    const { gate, clock, log } = setup();
    gate.tryAcquire(0);
    track(gate, 'a', log, { deadlineMs: 5_000 });
    assert.equal(clock.pendingTimers, 1);
    gate.release();
    await flush();
    assert.deepEqual(log, ['a']);
    assert.equal(clock.pendingTimers, 0);
  });

  test('abort rejects with the signal reason and leaves the queue', async () => {
    const { gate, clock, log } = setup();
    gate.tryAcquire(0);
    const controller = new AbortController();
    const a = track(gate, 'a', log, { deadlineMs: 5_000, signal: controller.signal });
    const b = track(gate, 'b', log);
    const reason = new Error('client went away');
    controller.abort(reason);
    await flush();
    assert.equal(a.state(), 'rejected');
    assert.equal(a.error(), reason);
    assert.equal(gate.queued, 1);
    assert.equal(clock.pendingTimers, 0, 'its deadline timer is cleared');
    gate.release();
    await flush();
    assert.equal(b.state(), 'admitted');
  });

  test('an already aborted signal rejects at once, even with a free slot', async () => {
    const { gate } = setup();
    const reason = new Error('gone');
    await assert.rejects(gate.acquire(0, 0, 1_000, AbortSignal.abort(reason)), (err: unknown) => err === reason);
    assert.equal(gate.inFlight, 0);
  });

  test('waitStats sums the time admitted waiters spent queued', async () => {
    const { gate, clock, log } = setup();
    gate.tryAcquire(0);
    track(gate, 'a', log);
    track(gate, 'b', log);
    clock.advance(300);
    gate.release();
    clock.advance(200);
    gate.release();
    await flush();
    assert.deepEqual(gate.waitStats(), { count: 2, totalWaitMs: 300 + 500 });
  });
});

describe('CapacityGate batch share (issue 21, batches.share)', () => {
  const batchLine = (gate: CapacityGate, log: string[], name: string, priority = -100): { state: () => string } => {
    let state = 'pending';
    gate.acquire(0, priority, Number.POSITIVE_INFINITY, never, true).then(
      () => {
        state = 'admitted';
        log.push(name);
      },
      () => (state = 'rejected'),
    );
    return { state: () => state };
  };

  test('batch lines take at most their share of maxConcurrent; interactive requests the rest', async () => {
    const { gate, log } = setup({ maxConcurrent: 4, batchShare: 0.5 });
    assert.equal(gate.tryAcquire(0, true), true);
    assert.equal(gate.tryAcquire(0, true), true);
    assert.equal(gate.tryAcquire(0, true), false, 'the share (2 of 4) is taken');
    const waiting = batchLine(gate, log, 'b3');
    await flush();
    assert.equal(waiting.state(), 'pending');
    // Interactive requests (higher priority) get the two slots left, past the waiting batch line.
    const a = track(gate, 'a', log, { priority: 0 });
    const b = track(gate, 'b', log, { priority: 0 });
    await flush();
    assert.deepEqual([a.state(), b.state()], ['admitted', 'admitted']);
    assert.equal(gate.inFlight, 4);
    assert.equal(gate.batchInFlight, 2);
    // An interactive request ends: its slot is not the batch share's, the batch line still waits.
    gate.release(undefined, 0, false);
    await flush();
    assert.equal(waiting.state(), 'pending');
    // A batch line ends: the waiting one takes its place.
    gate.release(undefined, 0, true);
    await flush();
    assert.equal(waiting.state(), 'admitted');
    assert.equal(gate.batchInFlight, 2);
  });

  test('batch lines take at most their share of rpm; the window frees it', async () => {
    const { gate, clock, log } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, rpm: 10, batchShare: 0.3 });
    for (let i = 0; i < 3; i++) assert.equal(gate.tryAcquire(0, true), true);
    assert.equal(gate.tryAcquire(0, true), false, '3 of 10 per minute');
    assert.equal(gate.tryAcquire(0, false), true, 'interactive requests still fit');
    const waiting = batchLine(gate, log, 'b4');
    await flush();
    assert.equal(waiting.state(), 'pending');
    clock.advance(66_000);
    await flush();
    assert.equal(waiting.state(), 'admitted', 'woken by the timer when the window has room');
  });

  test('batch lines take at most their share of tpm; a cancelled admission gives its share back', () => {
    const { gate } = setup({ maxConcurrent: Number.POSITIVE_INFINITY, tpm: 1000, batchShare: 0.5 });
    assert.equal(gate.tryAcquire(400, true), true);
    assert.equal(gate.tryAcquire(200, true), false, '600 of a 500-token share');
    assert.equal(gate.tryAcquire(500, false), true);
    gate.cancel(400, true);
    assert.equal(gate.batchInFlight, 0);
    assert.equal(gate.tryAcquire(100, true), true);
  });

  test('share 1 (or none): batch lines compete for the whole capacity; a share below 1 keeps one slot at least', () => {
    const whole = setup({ maxConcurrent: 2 }).gate;
    assert.equal(whole.tryAcquire(0, true), true);
    assert.equal(whole.tryAcquire(0, true), true);
    const small = setup({ maxConcurrent: 1, batchShare: 0.1 }).gate;
    assert.equal(small.tryAcquire(0, true), true);
    assert.throws(() => setup({ batchShare: 0 }), /^RangeError: batchShare/);
    assert.throws(() => setup({ batchShare: 1.5 }), /^RangeError: batchShare/);
  });
});
