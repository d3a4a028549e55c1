import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledTarget } from '../../src/config/compile.js';
import { FakeClock } from '../../src/lib/clock.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SharedTargetLimits } from '../../src/routing/shared-limits.js';

const target = (limits: Partial<Pick<CompiledTarget, 'rpm' | 'tpm' | 'rpd'>>): CompiledTarget => ({ provider: 'p', model: 'm', weight: 1, region: null, maxConcurrent: Infinity, rpm: null, tpm: null, rpd: null, price: null, timeouts: null, ...limits });

test('a target without limits has no shared limits', () => {
  const clock = new FakeClock();
  assert.equal(SharedTargetLimits.of('r', 'p/m', target({}), new MemoryStore({ clock })), null);
});

test('rpm and rpd: all or nothing, the wait is the longest denial, a minute later rpm has room again', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const limits = SharedTargetLimits.of('r', 'p/m', target({ rpm: 2, rpd: 3 }), store)!;
  assert.equal(await limits.take(1), 0);
  assert.equal(await limits.take(1), 0);
  const wait = await limits.take(1);
  assert.ok(wait > 0 && wait <= 60_000, `rpm denies: ${wait}`);
  clock.advance(60_000);
  assert.equal(await limits.take(1), 0, 'the third of the day');
  clock.advance(60_000);
  const daily = await limits.take(1);
  assert.ok(daily > 60_000, `rpd denies for much longer: ${daily}`);
  // The refused take gave back the rpm it had been granted: rpm still has room after rpd's refusal.
  const rpmOnly = SharedTargetLimits.of('r', 'p/m', target({ rpm: 2 }), store)!;
  assert.equal(await rpmOnly.take(1), 0);
  assert.equal(await rpmOnly.take(1), 0);
});

test('tpm is taken on the estimate and settled to the real usage; a cost over the tpm is capped at it', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const limits = SharedTargetLimits.of('r', 'p/m', target({ tpm: 100 }), store)!;
  assert.equal(await limits.take(80), 0);
  assert.ok((await limits.take(30)) > 0, '80 + 30 > 100');
  limits.correct(80, 20);
  await new Promise((r) => setImmediate(r));
  assert.equal(await limits.take(70), 0, 'the over-estimate was given back: 20 + 70 <= 100');
  limits.giveBack(70);
  await new Promise((r) => setImmediate(r));
  assert.ok((await limits.take(500)) > 0, 'taken as the whole tpm (100), with 20 in use: refused for now');
  clock.advance(60_000);
  assert.equal(await limits.take(500), 0, 'an estimate over the whole tpm passes on an empty window instead of never');
});
