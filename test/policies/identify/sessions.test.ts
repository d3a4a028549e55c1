import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { FakeClock } from '../../../src/lib/clock.js';
import { SessionRevocations } from '../../../src/policies/identify/sessions.js';
import { MemoryStore } from '../../../src/stores/memory.js';

const unauthorized = (err: unknown): boolean => err instanceof SluiceError && err.code === 'SLUICE_ERR_UNAUTHORIZED';

test('a user revocation refuses tokens issued up to its second, not later ones; tokens without iat while it lives', async () => {
  const clock = new FakeClock(Date.parse('2026-12-03T07:00:00.500Z'));
  const store = new MemoryStore({ clock });
  const sessions = new SessionRevocations(store, clock, 60_000);
  const revokedAtSec = Math.floor(clock.now() / 1000);
  await sessions.check('s', 'u', revokedAtSec);
  await sessions.revokeUser('u');
  await assert.rejects(sessions.check('s', 'u', revokedAtSec - 100), unauthorized);
  await assert.rejects(sessions.check('s', 'u', revokedAtSec), unauthorized);
  await assert.rejects(sessions.check(null, 'u', null), unauthorized);
  await sessions.check('s', 'u', revokedAtSec + 1);
  await sessions.check('s', 'another user', revokedAtSec - 100);
  // The revocation is kept for its ttl, which must outlast the longest-lived token.
  clock.advance(60_000);
  await sessions.check(null, 'u', null);
  await store.close();
});

test('a session revocation refuses that session whatever its token, and no other', async () => {
  const clock = new FakeClock(0);
  const store = new MemoryStore({ clock });
  const sessions = new SessionRevocations(store, clock, 1_000);
  await sessions.revokeSession('sid-1');
  await assert.rejects(sessions.check('sid-1', 'anyone', 5), unauthorized);
  await sessions.check('sid-2', 'anyone', 5);
  await sessions.check(null, 'anyone', 5);
  clock.advance(1_000);
  await sessions.check('sid-1', 'anyone', 5);
  await store.close();
});
