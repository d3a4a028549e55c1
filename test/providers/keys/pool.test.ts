import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import { Secret } from '../../../src/lib/secret.js';
import { carryKeyState, KeyPool, keyId, UNTIMED_429_REST_MS, type KeyEvent } from '../../../src/providers/keys/pool.js';

function pool(keys: string[], clock = new FakeClock()): { pool: KeyPool; clock: FakeClock; events: KeyEvent[] } {
  const events: KeyEvent[] = [];
  return { pool: new KeyPool('p', keys.map((k) => new Secret(k)), { clock, onKeyEvent: (e) => events.push(e) }), clock, events };
}

const secretOf = (p: KeyPool, estimate = 0): string => p.pick(estimate).secret!.reveal();

describe('KeyPool', () => {
  test('a key id is the first 8 hex digits of its SHA-256, never the key', () => {
    assert.equal(keyId(new Secret('sk-one')), createHash('sha256').update('sk-one').digest('hex').slice(0, 8));
    assert.match(keyId(new Secret('sk-one')), /^[0-9a-f]{8}$/);
    assert.notEqual(keyId(new Secret('sk-one')), keyId(new Secret('sk-two')));
    assert.equal(keyId(null), 'none');
  });

  test('spreads calls round robin', () => {
    const { pool: p } = pool(['a', 'b', 'c']);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => secretOf(p)), ['a', 'b', 'c', 'a', 'b', 'c']);
    assert.deepEqual(
      p.snapshot().map((s) => s.sent),
      [2, 2, 2],
    );
  });

  test('a 429 with retry-after rests the key for that long while the others serve, then it comes back', () => {
    const { pool: p, clock, events } = pool(['a', 'b', 'c']);
    const a = p.pick();
    assert.equal(p.answered(a, 429, { 'retry-after': '2' }), 'retry');
    assert.equal(p.usableAt, 0, 'other keys serve: the target stays in rotation');
    for (let i = 0; i < 4; i++) assert.notEqual(secretOf(p), 'a');
    assert.deepEqual(
      events.map((e) => [e.kind, e.key, e.status, e.ms]),
      [['rested', a.id, 429, 2000]],
    );
    clock.advance(2000);
    assert.ok([0, 1, 2].map(() => secretOf(p)).includes('a'));
    assert.equal(p.snapshot()[0]!.rests, 1);
  });

  test('retry-after-ms is preferred; a 429 with no time rests briefly when the pool has other keys, not at all when alone', () => {
    const { pool: p, clock } = pool(['a', 'b']);
    const a = p.pick();
    p.answered(a, 429, { 'retry-after-ms': '150', 'retry-after': '9' });
    assert.equal(a.restUntil, clock.monotonic() + 150);
    const b = p.pick();
    assert.equal(p.answered(b, 429, {}), 'done', 'no other key is usable now');
    assert.equal(b.restUntil, clock.monotonic() + UNTIMED_429_REST_MS);
    const { pool: lone } = pool(['x']);
    const x = lone.pick();
    assert.equal(lone.answered(x, 429, {}), 'done');
    assert.equal(x.restUntil, 0, 'a lone key is left to the router: no rest without a time');
  });

  test('when every key rests, usableAt is when the first comes back', () => {
    const { pool: p, clock } = pool(['a', 'b']);
    const t0 = clock.monotonic();
    p.answered(p.pick(), 429, { 'retry-after': '5' });
    p.answered(p.pick(), 429, { 'retry-after': '3' });
    assert.equal(p.usableAt, t0 + 3000);
    assert.equal(secretOf(p), 'b', 'the one back soonest, for a call admitted anyway');
    clock.advance(3000);
    assert.equal(secretOf(p), 'b');
  });

  test('a 401 takes the key out (once, reported) and another key takes the call; the last key is never taken out', () => {
    const { pool: p, events } = pool(['a', 'b']);
    const a = p.pick();
    assert.equal(p.answered(a, 401, {}), 'retry');
    assert.equal(p.answered(a, 401, {}), 'done', 'already out: not reported again');
    assert.deepEqual(
      events.map((e) => [e.kind, e.key, e.status]),
      [['removed', a.id, 401]],
    );
    for (let i = 0; i < 3; i++) assert.equal(secretOf(p), 'b');
    const b = p.pick();
    assert.equal(p.answered(b, 403, {}), 'done');
    assert.equal(b.removed, false, "the last key stays: the provider's 401 reaches the client");
    assert.deepEqual(
      p.snapshot().map((s) => s.state),
      ['removed', 'serving'],
    );
  });

  test('quota headers announcing 0 requests left rest the key until the reset, before any 429', () => {
    const { pool: p, clock } = pool(['a']);
    const a = p.pick();
    assert.equal(p.answered(a, 200, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m0s' }), 'done');
    assert.equal(p.usableAt, clock.monotonic() + 60_000);
    assert.equal(p.snapshot()[0]!.state, 'resting');
    clock.advance(60_000);
    assert.equal(p.snapshot()[0]!.state, 'serving');
  });

  test('a key whose remaining tokens are below the call estimate is skipped while another has room', () => {
    const { pool: p } = pool(['a', 'b']);
    const a = p.pick();
    p.answered(a, 200, { 'x-ratelimit-remaining-tokens': '100', 'x-ratelimit-reset-tokens': '10s' });
    assert.deepEqual([0, 1, 2].map(() => secretOf(p, 500)), ['b', 'b', 'b']);
    assert.equal(secretOf(p, 50), 'a', 'a small call still fits');
  });

  test('carryKeyState: a key kept across a reload keeps its rest, removal and counters; a new key starts fresh', () => {
    const clock = new FakeClock();
    const { pool: before } = pool(['a', 'b', 'c'], clock);
    const a = before.pick();
    before.answered(a, 429, { 'retry-after': '30' });
    const b = before.pick();
    before.answered(b, 401, {});
    const { pool: after } = pool(['a', 'b', 'd'], clock);
    carryKeyState(before, after);
    assert.deepEqual(
      after.snapshot().map((s) => [s.state, s.sent, s.rests]),
      [
        ['resting', 1, 1],
        ['removed', 1, 0],
        ['serving', 0, 0],
      ],
    );
    assert.equal(after.pick().secret!.reveal(), 'd');
    carryKeyState(undefined, after); // a provider new in this version: nothing to carry
  });
});
