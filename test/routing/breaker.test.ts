import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { CircuitBreaker, type BreakerOptions, type BreakerTransition } from '../../src/routing/breaker.js';

const base: BreakerOptions = { failureRatio: 0.5, minRequests: 10, windowMs: 10_000, consecutiveFailures: 0, openMs: 30_000, halfOpenProbes: 1 };

function setup(overrides: Partial<BreakerOptions> = {}): { clock: FakeClock; breaker: CircuitBreaker; events: BreakerTransition[] } {
  const clock = new FakeClock(1_000_000);
  const events: BreakerTransition[] = [];
  const breaker = new CircuitBreaker({ ...base, ...overrides }, clock, (t) => events.push(t));
  return { clock, breaker, events };
}

/** Sends `n` requests through the breaker with the given outcome. */
function run(breaker: CircuitBreaker, n: number, outcome: 'success' | 'failure' | 'neutral'): void {
  for (let i = 0; i < n; i++) {
    assert.equal(breaker.tryAcquire(), true);
    if (outcome === 'success') breaker.onSuccess();
    else if (outcome === 'failure') breaker.onFailure();
    else breaker.onNeutral();
  }
}

describe('CircuitBreaker options', () => {
  const cases: [keyof BreakerOptions, number][] = [
    ['failureRatio', -0.1],
    ['failureRatio', 1.5],
    ['failureRatio', Number.NaN],
    ['minRequests', 0],
    ['minRequests', 1.5],
    ['windowMs', 0],
    ['windowMs', Number.POSITIVE_INFINITY],
    ['consecutiveFailures', -1],
    ['consecutiveFailures', 2.5],
    ['openMs', -1],
    ['halfOpenProbes', 0],
  ];
  for (const [name, value] of cases) {
    test(`${name} = ${value} is a RangeError naming the option`, () => {
      assert.throws(
        () => new CircuitBreaker({ ...base, [name]: value }, new FakeClock()),
        (err: unknown) => err instanceof RangeError && err.message.startsWith(`${name} `),
      );
    });
  }

  test('boundary values are accepted', () => {
    assert.doesNotThrow(() => new CircuitBreaker({ ...base, failureRatio: 0, consecutiveFailures: 0, openMs: 0 }, new FakeClock()));
    assert.doesNotThrow(() => new CircuitBreaker({ ...base, failureRatio: 1, minRequests: 1, halfOpenProbes: 1 }, new FakeClock()));
  });
});

describe('CircuitBreaker closed → open', () => {
  test('starts closed and lets requests through', () => {
    const { breaker, events } = setup();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.retryAfterMs(), 0);
    assert.deepEqual(events, []);
  });

  test('opens when the failure ratio reaches failureRatio at minRequests', () => {
    const { breaker, events, clock } = setup();
    run(breaker, 5, 'success');
    run(breaker, 4, 'failure');
    assert.equal(breaker.state, 'closed', '9 requests: below minRequests');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open', '5 of 10 failed: ratio 0.5 >= 0.5');
    assert.deepEqual(events, [{ from: 'closed', to: 'open', at: clock.now(), reason: 'failure-ratio' }]);
    assert.equal(breaker.tryAcquire(), false);
  });

  test('a ratio just below failureRatio keeps it closed, however many requests', () => {
    const { breaker } = setup();
    run(breaker, 6, 'success');
    run(breaker, 4, 'failure');
    run(breaker, 12, 'success');
    run(breaker, 9, 'failure');
    // 13 failures of 31.
    assert.equal(breaker.state, 'closed');
    run(breaker, 2, 'failure');
    // 15 of 33 = 0.45: still closed.
    assert.equal(breaker.state, 'closed');
    run(breaker, 3, 'failure');
    // 18 of 36 = 0.5.
    assert.equal(breaker.state, 'open');
  });

  test('below minimum volume even 100% failures do not open it', () => {
    const { breaker } = setup({ minRequests: 20 });
    run(breaker, 19, 'failure');
    assert.equal(breaker.state, 'closed');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open');
  });

  test('neutral outcomes count towards neither failures nor volume', () => {
    const { breaker } = setup({ minRequests: 4 });
    run(breaker, 3, 'failure');
    run(breaker, 10, 'neutral');
    assert.equal(breaker.state, 'closed', 'volume is 3, not 13');
    run(breaker, 1, 'success');
    assert.equal(breaker.state, 'closed', 'a success never trips it');
    run(breaker, 1, 'failure');
    // 4 failures of 5 = 0.8.
    assert.equal(breaker.state, 'open');
  });

  test('consecutiveFailures opens it regardless of ratio and volume', () => {
    const { breaker, events } = setup({ consecutiveFailures: 3, minRequests: 1000 });
    run(breaker, 50, 'success');
    run(breaker, 2, 'failure');
    run(breaker, 1, 'success');
    run(breaker, 2, 'failure');
    assert.equal(breaker.state, 'closed', 'a success resets the run');
    run(breaker, 1, 'neutral');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open', 'a neutral outcome does not break the run');
    assert.equal(events[0]!.reason, 'consecutive-failures');
  });

  test('consecutiveFailures 0 disables the run rule', () => {
    const { breaker } = setup({ consecutiveFailures: 0, minRequests: 1000 });
    run(breaker, 500, 'failure');
    assert.equal(breaker.state, 'closed');
  });

  test('old failures age out of the rolling window', () => {
    const { breaker, clock } = setup({ windowMs: 10_000 });
    run(breaker, 9, 'failure');
    // Held for between windowMs and windowMs + one bucket (1 s here).
    clock.advance(11_000);
    run(breaker, 9, 'success');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'closed', 'the 9 early failures are gone: 1 of 10');
  });

  test('failures still inside the window count', () => {
    const { breaker, clock } = setup({ windowMs: 10_000 });
    run(breaker, 9, 'failure');
    clock.advance(9_000);
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open', '10 of 10 within 9 s');
  });

  test('the window slides bucket by bucket', () => {
    const { breaker, clock } = setup({ windowMs: 10_000, minRequests: 10, failureRatio: 0.5 });
    run(breaker, 5, 'failure'); // t = 0
    clock.advance(5_000);
    run(breaker, 5, 'success'); // t = 5 s: 5 of 10 would trip, but the last one was a success
    clock.advance(6_000); // t = 11 s: the first five have aged out
    run(breaker, 4, 'failure');
    assert.equal(breaker.state, 'closed', '4 failures of 9');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open', '5 failures of 10');
  });
});

describe('CircuitBreaker open → half-open → closed', () => {
  function opened(overrides: Partial<BreakerOptions> = {}): ReturnType<typeof setup> {
    const s = setup({ consecutiveFailures: 1, ...overrides });
    run(s.breaker, 1, 'failure');
    assert.equal(s.breaker.state, 'open');
    return s;
  }

  test('stays open for openMs, reporting the time left', () => {
    const { breaker, clock } = opened();
    assert.equal(breaker.retryAfterMs(), 30_000);
    clock.advance(29_999);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryAfterMs(), 1);
    assert.equal(breaker.tryAcquire(), false);
    clock.advance(1);
    assert.equal(breaker.retryAfterMs(), 0);
    assert.equal(breaker.state, 'half-open');
  });

  test('open → half-open happens lazily and emits its transition once', () => {
    const { breaker, clock, events } = opened();
    clock.advance(45_000);
    assert.equal(events.length, 1, 'nothing happens until the breaker is looked at');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(events[1], { from: 'open', to: 'half-open', at: clock.now(), reason: 'open-elapsed' });
    assert.equal(events.length, 2);
  });

  test('half-open lets halfOpenProbes through at once, no more', () => {
    const { breaker, clock } = opened({ halfOpenProbes: 2 });
    clock.advance(30_000);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
    breaker.onSuccess();
    assert.equal(breaker.state, 'half-open', 'one success of two');
    assert.equal(breaker.tryAcquire(), true, 'the finished probe freed its slot');
    assert.equal(breaker.tryAcquire(), false);
  });

  test('halfOpenProbes consecutive successes close it, with an event', () => {
    const { breaker, clock, events } = opened({ halfOpenProbes: 3 });
    clock.advance(30_000);
    for (let i = 0; i < 3; i++) assert.equal(breaker.tryAcquire(), true);
    breaker.onSuccess();
    breaker.onSuccess();
    assert.equal(breaker.state, 'half-open');
    breaker.onSuccess();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(
      events.map((e) => [e.from, e.to, e.reason]),
      [
        ['closed', 'open', 'consecutive-failures'],
        ['open', 'half-open', 'open-elapsed'],
        ['half-open', 'closed', 'probes-succeeded'],
      ],
    );
  });

  test('closing resets the window: earlier failures do not count afterwards', () => {
    const { breaker, clock } = setup({ minRequests: 4, failureRatio: 0.5, windowMs: 60_000, openMs: 1_000 });
    run(breaker, 2, 'success');
    run(breaker, 2, 'failure');
    assert.equal(breaker.state, 'open');
    clock.advance(1_000);
    run(breaker, 1, 'success');
    assert.equal(breaker.state, 'closed');
    run(breaker, 3, 'failure');
    assert.equal(breaker.state, 'closed', 'three requests since closing: below minRequests');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'open');
  });

  test('closing forgets the failures, not only the volume', () => {
    const { breaker, clock } = setup({ minRequests: 4, failureRatio: 0.5, windowMs: 60_000, openMs: 1_000 });
    run(breaker, 2, 'success');
    run(breaker, 2, 'failure');
    clock.advance(1_000);
    run(breaker, 1, 'success');
    assert.equal(breaker.state, 'closed');
    run(breaker, 3, 'success');
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'closed', '1 failure of 4 since closing');
  });

  test('closing resets the consecutive-failure run', () => {
    const { breaker, clock } = setup({ consecutiveFailures: 3, minRequests: 1000, openMs: 1_000 });
    run(breaker, 3, 'failure');
    clock.advance(1_000);
    run(breaker, 1, 'success');
    assert.equal(breaker.state, 'closed');
    run(breaker, 2, 'failure');
    assert.equal(breaker.state, 'closed');
  });

  test('a probe failure reopens at once, with openMs re-armed from now', () => {
    const { breaker, clock, events } = opened({ halfOpenProbes: 2 });
    clock.advance(40_000);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), true);
    clock.advance(5_000);
    breaker.onFailure();
    assert.equal(breaker.state, 'open');
    assert.deepEqual(events[2], { from: 'half-open', to: 'open', at: clock.now(), reason: 'probe-failed' });
    assert.equal(breaker.retryAfterMs(), 30_000, 'a full openMs from the probe failure');
    clock.advance(29_999);
    assert.equal(breaker.state, 'open');
    clock.advance(1);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'fresh probe slots in the new half-open period');
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
  });

  test('a failure between probe successes restarts the count', () => {
    const { breaker, clock } = opened({ halfOpenProbes: 2, openMs: 100 });
    clock.advance(100);
    breaker.tryAcquire();
    breaker.onSuccess();
    breaker.tryAcquire();
    breaker.onFailure();
    clock.advance(100);
    breaker.tryAcquire();
    breaker.onSuccess();
    assert.equal(breaker.state, 'half-open', 'the success before the reopening does not carry over');
    breaker.tryAcquire();
    breaker.onSuccess();
    assert.equal(breaker.state, 'closed');
  });

  test('onNeutral releases a probe slot and counts nothing', () => {
    const { breaker, clock } = opened({ halfOpenProbes: 1 });
    clock.advance(30_000);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
    breaker.onNeutral();
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'the slot is free again');
    breaker.onSuccess();
    assert.equal(breaker.state, 'closed');
  });

  test('openMs 0 goes straight to half-open', () => {
    const { breaker, events } = setup({ consecutiveFailures: 1, openMs: 0 });
    run(breaker, 1, 'failure');
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(
      events.map((e) => e.to),
      ['open', 'half-open'],
    );
  });
});

describe('CircuitBreaker stragglers (requests admitted before a transition)', () => {
  test('while open, late failures do not extend the open period and late successes do not close it', () => {
    const { breaker, clock, events } = setup({ consecutiveFailures: 2, openMs: 30_000 });
    // Five long requests are sent while closed.
    for (let i = 0; i < 5; i++) assert.equal(breaker.tryAcquire(), true);
    breaker.onFailure();
    breaker.onFailure();
    assert.equal(breaker.state, 'open');
    clock.advance(20_000);
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onNeutral();
    assert.equal(breaker.retryAfterMs(), 10_000, 'still due at the original time');
    clock.advance(10_000);
    assert.equal(breaker.state, 'half-open');
    assert.equal(events.length, 2);
  });

  test('in half-open with no probe in flight, a straggler outcome is ignored', () => {
    const { breaker, clock, events } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    assert.equal(breaker.tryAcquire(), true); // the straggler
    run(breaker, 1, 'failure');
    clock.advance(1_000);
    assert.equal(breaker.state, 'half-open');
    breaker.onFailure();
    assert.equal(breaker.state, 'half-open', 'not a probe: does not reopen');
    breaker.onSuccess();
    assert.equal(breaker.state, 'half-open', 'not a probe: does not close');
    assert.equal(events.length, 2);
  });

  test('with the epoch, a straggler is ignored even while a probe is in flight', () => {
    const { breaker, clock } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    assert.equal(breaker.tryAcquire(), true);
    const stragglerEpoch = breaker.epoch;
    run(breaker, 1, 'failure');
    clock.advance(1_000);
    assert.equal(breaker.tryAcquire(), true);
    const probeEpoch = breaker.epoch;
    assert.notEqual(probeEpoch, stragglerEpoch);
    breaker.onFailure(stragglerEpoch);
    assert.equal(breaker.state, 'half-open', 'the straggler cannot reopen it');
    assert.equal(breaker.tryAcquire(), false, 'nor free the probe slot');
    breaker.onSuccess(probeEpoch);
    assert.equal(breaker.state, 'closed');
  });

  test('with the epoch, outcomes from before an open/close cycle do not count after closing', () => {
    const { breaker, clock } = setup({ consecutiveFailures: 2, minRequests: 1000, openMs: 1_000 });
    assert.equal(breaker.tryAcquire(), true);
    const old = breaker.epoch;
    run(breaker, 2, 'failure');
    clock.advance(1_000);
    run(breaker, 1, 'success');
    assert.equal(breaker.state, 'closed');
    const now = breaker.epoch;
    breaker.onFailure(old);
    breaker.onFailure(now);
    assert.equal(breaker.state, 'closed', 'only one failure of the current epoch');
    breaker.onFailure(now);
    assert.equal(breaker.state, 'open');
  });

  test('the epoch changes on every transition and only then', () => {
    const { breaker, clock } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    const e0 = breaker.epoch;
    run(breaker, 3, 'success');
    assert.equal(breaker.epoch, e0);
    run(breaker, 1, 'failure');
    assert.equal(breaker.epoch, e0 + 1);
    clock.advance(1_000);
    assert.equal(breaker.epoch, e0 + 2, 'the lazy open → half-open counts');
    run(breaker, 1, 'success');
    assert.equal(breaker.epoch, e0 + 3);
  });
});
