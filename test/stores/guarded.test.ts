import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock.js';
import { StoreError, StoreUnavailableError } from '../../src/stores/errors.js';
import { GuardedStore, type FailurePolicy } from '../../src/stores/guarded.js';
import type { StoreStatus } from '../../src/stores/health.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { LimitResult, LimitRule, StateStore } from '../../src/stores/types.js';
import { rule } from './contract.js';

type Mode = 'up' | 'down' | 'hang';

/**
 * A remote store whose availability the test controls: `up` answers (from its own
 * MemoryStore), `down` rejects with a StoreError, `hang` leaves calls pending until
 * `settleHung()`.
 */
class FlakyStore implements StateStore {
  readonly inner: MemoryStore;
  mode: Mode;
  calls: number;
  pings: number;
  readonly #hung: { reject: (err: Error) => void }[];

  constructor(clock: FakeClock) {
    this.inner = new MemoryStore({ clock });
    this.mode = 'up';
    this.calls = 0;
    this.pings = 0;
    this.#hung = [];
  }

  consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]> {
    return this.#gate(() => this.inner.consume(rules, costs));
  }
  adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void> {
    return this.#gate(() => this.inner.adjust(rules, deltas));
  }
  acquire(key: string, limit: number, leaseMs: number): Promise<string | null> {
    return this.#gate(() => this.inner.acquire(key, limit, leaseMs));
  }
  release(key: string, lease: string): Promise<void> {
    return this.#gate(() => this.inner.release(key, lease));
  }
  add(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.#gate(() => this.inner.add(key, amount, ttlMs));
  }
  get(key: string): Promise<number> {
    return this.#gate(() => this.inner.get(key));
  }
  mark(key: string, value: number, ttlMs: number): Promise<void> {
    return this.#gate(() => this.inner.mark(key, value, ttlMs));
  }
  marks(keys: readonly string[]): Promise<(number | null)[]> {
    return this.#gate(() => this.inner.marks(keys));
  }
  ping(): Promise<void> {
    this.pings++;
    this.calls--;
    return this.#gate(() => this.inner.ping());
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /** Rejects every pending (hung) call with a StoreError. */
  settleHung(): void {
    for (const call of this.#hung.splice(0)) call.reject(new StoreError('connection reset'));
  }

  #gate<T>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.mode === 'down') return Promise.reject(new StoreError('connection refused'));
    if (this.mode === 'hang') return new Promise<T>((_resolve, reject) => this.#hung.push({ reject }));
    return call();
  }
}

/** Lets settled promises run their callbacks. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A store whose remote has answered its first ping (and pinged once: `remote.pings` is 1). */
async function setup(policy: FailurePolicy, retryMs = 1000, checkMs = 60_000) {
  const clock = new FakeClock();
  const remote = new FlakyStore(clock);
  const fallback = new MemoryStore({ clock });
  const store = new GuardedStore({ remote, fallback, policy, retryMs, checkMs, clock });
  await flush();
  assert.equal(store.status().healthy, true);
  const changes: StoreStatus[] = [];
  store.onChange((s) => changes.push(s));
  return { clock, remote, fallback, store, changes };
}

describe('GuardedStore', () => {
  test('while healthy, every call goes to the remote', async () => {
    const { remote, fallback, store } = await setup('open');
    const r = rule('k', 2, 1000);
    assert.equal((await store.consume([r], [1]))[0]!.remaining, 1);
    assert.equal((await remote.inner.consume([r], [0]))[0]!.remaining, 1);
    assert.equal((await fallback.consume([r], [0]))[0]!.remaining, 2);
    assert.equal(await store.add('c', 1, 1000), 1);
    assert.equal(await remote.inner.get('c'), 1);
    assert.deepEqual(store.status(), { healthy: true, since: 1_700_000_000_000, lastError: null });
    await store.close();
  });

  test('open: the first failure marks the remote down; that call and later ones are served by the fallback', async () => {
    const { clock, remote, store, changes } = await setup('open');
    remote.mode = 'down';
    clock.advance(5);
    const r = rule('k', 3, 60_000);
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await store.consume([r], [1]))[0]!.allowed);
    assert.deepEqual(decisions, [true, true, true, false], 'the fallback decides exactly');
    assert.equal(remote.calls, 1, 'only the first call tried the remote');
    const down = { healthy: false, since: 1_700_000_000_005, lastError: 'connection refused' };
    assert.deepEqual(store.status(), down);
    assert.deepEqual(changes, [down]);
    assert.equal(await store.add('c', 2, 1000), 2);
    assert.equal(await store.get('c'), 2);
    await store.adjust([r], [1]);
    assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
    await store.close();
  });

  test('while down, the remote is pinged every retryMs, one ping at a time, and recovers by itself', async () => {
    const { clock, remote, store, changes } = await setup('open', 1000, 5000);
    remote.mode = 'down';
    await store.consume([rule('k', 1, 1000)], [1]);
    const base = remote.pings;
    clock.advance(999);
    await flush();
    assert.equal(remote.pings, base);
    clock.advance(1);
    await flush();
    assert.equal(remote.pings, base + 1);
    clock.advance(1000);
    await flush();
    assert.equal(remote.pings, base + 2);
    remote.mode = 'hang';
    clock.advance(1000);
    await flush();
    assert.equal(remote.pings, base + 3);
    clock.advance(10_000);
    await flush();
    assert.equal(remote.pings, base + 3, 'no second ping while one is pending');
    remote.settleHung();
    await flush();
    assert.equal(store.status().lastError, 'connection reset');
    remote.mode = 'up';
    clock.advance(1000);
    await flush();
    assert.equal(remote.pings, base + 4);
    assert.deepEqual(store.status(), { healthy: true, since: clock.now(), lastError: 'connection reset' });
    assert.deepEqual(changes.map((c) => c.healthy), [false, true]);
    const before = remote.calls;
    await store.consume([rule('k', 1, 1000)], [1]);
    assert.equal(remote.calls, before + 1, 'calls go to the remote again');
    clock.advance(5000);
    await flush();
    assert.equal(remote.pings, base + 5, 'while healthy, pinged every checkMs');
    await store.close();
  });

  test('regression: a remote that stops answering is marked down by the health check, with no call made', async () => {
    const { clock, remote, store, changes } = await setup('open', 1000, 500);
    remote.mode = 'down';
    clock.advance(499);
    await flush();
    assert.equal(store.status().healthy, true);
    clock.advance(1);
    await flush();
    assert.equal(store.status().healthy, false, 'down within one check interval');
    assert.equal(remote.calls, 0, 'no call was made');
    assert.deepEqual(changes.map((c) => c.healthy), [false]);
    await store.close();
  });

  test('regression: a cold store waits for the first answer; calls then go to the remote, not the fallback', async () => {
    const clock = new FakeClock();
    const remote = new FlakyStore(clock);
    remote.mode = 'down';
    const fallback = new MemoryStore({ clock });
    const store = new GuardedStore({ remote, fallback, policy: 'open', clock, startupWaitMs: 5000 });
    const changes: StoreStatus[] = [];
    store.onChange((s) => changes.push(s));
    await flush();
    assert.equal(store.status().healthy, false, 'not ready before the first answer');
    const r = rule('k', 1, 60_000);
    const first = store.consume([r], [1]);
    const second = store.consume([r], [1]);
    clock.advance(200);
    await flush();
    assert.equal(remote.calls, 0, 'calls wait while the remote has not answered');
    remote.mode = 'up';
    clock.advance(50);
    await flush();
    assert.deepEqual([(await first)[0]!.allowed, (await second)[0]!.allowed].sort(), [false, true], 'decided once, by the remote');
    assert.equal(remote.calls, 2);
    assert.equal((await fallback.consume([r], [0]))[0]!.remaining, 1, 'the fallback took nothing');
    assert.deepEqual(changes.map((c) => c.healthy), [true]);
    await store.close();
  });

  test('a cold store that gets no answer within startupWaitMs follows the failure policy', async () => {
    const clock = new FakeClock();
    const remote = new FlakyStore(clock);
    remote.mode = 'hang';
    const store = new GuardedStore({ remote, fallback: new MemoryStore({ clock }), policy: 'closed', clock, startupWaitMs: 1000 });
    const pending = store.consume([rule('k', 1, 60_000)], [1]);
    clock.advance(1000);
    await assert.rejects(pending, (err: unknown) => err instanceof StoreUnavailableError && err.message.includes('no answer yet'));
    assert.equal(remote.calls, 0);
    await store.close();
  });

  test('closed: rejects with StoreUnavailableError while down, then recovers', async () => {
    const { clock, remote, store } = await setup('closed', 500);
    remote.mode = 'down';
    const r = rule('k', 1, 1000);
    const unavailable = (err: unknown): boolean =>
      err instanceof StoreUnavailableError && err.code === 'STORE_UNAVAILABLE' && err.since === 1_700_000_000_000 && err.message.includes('connection refused');
    await assert.rejects(store.consume([r], [1]), unavailable);
    await assert.rejects(store.consume([r], [1]), unavailable);
    await assert.rejects(store.adjust([r], [1]), unavailable);
    await assert.rejects(store.acquire('l', 1, 1000), unavailable);
    await assert.rejects(store.add('c', 1, 1000), unavailable);
    await assert.rejects(store.get('c'), unavailable);
    await assert.rejects(store.ping(), unavailable);
    await store.release('l', 'some-lease'); // never rejects: the lease expires by itself
    assert.equal(remote.calls, 1);
    remote.mode = 'up';
    clock.advance(500);
    await flush();
    assert.equal(store.status().healthy, true);
    assert.equal((await store.consume([r], [1]))[0]!.allowed, true);
    await store.ping();
    await store.close();
  });

  test('open: ping still reflects the remote while down', async () => {
    const { remote, store } = await setup('open');
    await store.ping();
    remote.mode = 'down';
    await assert.rejects(store.ping(), StoreUnavailableError);
    assert.equal(store.status().healthy, false);
    await assert.rejects(store.ping(), StoreUnavailableError);
    await store.close();
  });

  test('errors that are not store failures propagate and leave the remote healthy', async () => {
    const { store } = await setup('closed');
    await assert.rejects(store.consume([rule('k', 1.5, 1000)], [1]), RangeError);
    await assert.rejects(store.acquire('', 1, 1000), TypeError);
    assert.equal(store.status().healthy, true);
    await store.close();
  });

  test('a lease from the fallback is released there, also after recovery; a remote lease is not released while down', async () => {
    const { clock, remote, fallback, store } = await setup('open', 100);
    const remoteLease = await store.acquire('l', 1, 60_000);
    assert.ok(remoteLease !== null && !remoteLease.startsWith('fallback:'));
    remote.mode = 'down';
    const lease = await store.acquire('m', 1, 60_000);
    assert.ok(lease !== null && lease.startsWith('fallback:'));
    assert.equal(await store.acquire('m', 1, 60_000), null);
    const calls = remote.calls;
    await store.release('l', remoteLease);
    assert.equal(remote.calls, calls, 'no call to a remote known to be down');
    remote.mode = 'up';
    clock.advance(100);
    await flush();
    assert.equal(store.status().healthy, true);
    await store.release('m', lease);
    assert.ok((await fallback.acquire('m', 1, 60_000)) !== null, 'the fallback slot was freed');
    await store.release('l', remoteLease);
    assert.ok((await remote.inner.acquire('l', 1, 60_000)) !== null, 'the remote slot was freed');
    await store.close();
  });

  test('a failure of a call that started before the latest recovery does not mark the remote down again', async () => {
    const { clock, remote, store } = await setup('open', 100);
    remote.mode = 'hang';
    const straggler = store.consume([rule('s', 5, 1000)], [1]);
    remote.mode = 'down';
    await store.consume([rule('k', 5, 1000)], [1]);
    assert.equal(store.status().healthy, false);
    remote.mode = 'up';
    clock.advance(100);
    await flush();
    assert.equal(store.status().healthy, true);
    remote.settleHung();
    assert.equal((await straggler)[0]!.allowed, true, 'served by the fallback');
    assert.equal(store.status().healthy, true);
    await store.close();
  });

  test('a throwing listener changes nothing; onChange returns an unsubscribe function', async () => {
    const { remote, store } = await setup('open');
    const seen: boolean[] = [];
    store.onChange(() => {
      throw new Error('observer bug');
    });
    const off = store.onChange((s) => seen.push(s.healthy));
    remote.mode = 'down';
    assert.equal((await store.consume([rule('k', 1, 1000)], [1]))[0]!.allowed, true);
    off();
    assert.deepEqual(seen, [false]);
    await store.close();
  });

  test('close stops the pinging', async () => {
    const { clock, remote, store } = await setup('open', 100);
    remote.mode = 'down';
    await store.consume([rule('k', 1, 1000)], [1]);
    const pings = remote.pings;
    await store.close();
    clock.advance(1000);
    await flush();
    assert.equal(remote.pings, pings);
    assert.equal(clock.pendingTimers, 0);
  });

  test('options are checked at construction', () => {
    const clock = new FakeClock();
    const remote = new FlakyStore(clock);
    const fallback = new MemoryStore({ clock });
    assert.throws(() => new GuardedStore({ remote, fallback, clock, policy: 'maybe' as FailurePolicy }), TypeError);
    assert.throws(() => new GuardedStore({ remote, fallback, clock, policy: 'open', retryMs: 0 }), RangeError);
    assert.throws(() => new GuardedStore({ remote, fallback, clock, policy: 'open', checkMs: Number.NaN }), RangeError);
    assert.throws(() => new GuardedStore({ remote, fallback, clock, policy: 'open', startupWaitMs: -1 }), RangeError);
  });
});
