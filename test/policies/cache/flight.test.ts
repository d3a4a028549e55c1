import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import type { CacheEntry } from '../../../src/policies/cache/entry.js';
import { Flight } from '../../../src/policies/cache/flight.js';

/** Lets settled promises run their callbacks. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Flight on an injected clock', () => {
  test('regression: a follower waits for the start on the injected clock, not on real timers (issue 15)', async () => {
    const clock = new FakeClock();
    const flight = new Flight(clock);
    let result: unknown = 'pending';
    const waiting = flight.started(1000, new AbortController().signal).then((r) => (result = r));
    clock.advance(999);
    await flush();
    assert.equal(result, 'pending', 'still waiting 1 ms before the deadline');
    clock.advance(1);
    await waiting;
    assert.equal(result, null, 'gave up at the deadline');
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  test('done() resolves with the entry when it finishes in time, else null at the deadline', async () => {
    const clock = new FakeClock();
    const signal = new AbortController().signal;
    const entry: CacheEntry = { format: 'json', status: 200, body: '{"ok":true}', chunks: null, usage: null, freshUntil: 0 };
    const finished = new Flight(clock);
    const pending = finished.done(500, signal);
    clock.advance(499);
    finished.finish(entry);
    assert.equal(await pending, entry);
    const never = new Flight(clock);
    const late = never.done(500, signal);
    clock.advance(500);
    assert.equal(await late, null);
    assert.equal(clock.pendingTimers, 0);
  });
});
