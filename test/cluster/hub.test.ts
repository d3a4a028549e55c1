import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hub, type WorkerLink } from '../../src/cluster/hub.js';
import type { FlightEvent, ToWorker } from '../../src/cluster/protocol.js';
import { SqliteThreadDatabase } from '../../src/db/sqlite-worker.js';
import { FakeClock } from '../../src/lib/clock.js';
import { serializeEntry, type CacheEntry } from '../../src/policies/cache/entry.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { waitFor } from '../helpers/wait.js';

/** A worker as the hub sees it: what the hub sent it, and calls that await their replies. */
class FakeWorker implements WorkerLink {
  readonly received: ToWorker[] = [];
  #next = 1;

  constructor(
    readonly id: number,
    readonly hub: Hub,
  ) {}

  send(message: ToWorker): void {
    this.received.push(message);
  }

  async call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    this.hub.receive(this.id, { sluice: 'call', id, op, args });
    await waitFor(() => this.received.some((m) => m.sluice === 'reply' && m.id === id), `the reply to ${op}`);
    const reply = this.received.find((m) => m.sluice === 'reply' && m.id === id)!;
    if (reply.sluice !== 'reply') throw new Error('not a reply');
    if (reply.error !== undefined) throw Object.assign(new Error(reply.error.message), reply.error.fields);
    return reply.value as T;
  }

  note(op: string, ...args: unknown[]): void {
    this.hub.receive(this.id, { sluice: 'note', op, args });
  }

  events(fid: number): FlightEvent[] {
    return this.received.flatMap((m) => (m.sluice === 'flight' && m.fid === fid ? [m.event] : []));
  }
}

function hubWith(options: { db?: SqliteThreadDatabase } = {}): { hub: Hub; a: FakeWorker; b: FakeWorker } {
  const clock = new FakeClock();
  const hub = new Hub({ clock, state: new MemoryStore({ clock }), cacheMaxBytes: 1 << 20, leaseMs: 60_000, db: options.db ?? null, metricsTimeoutMs: 1_000 });
  const a = new FakeWorker(1, hub);
  const b = new FakeWorker(2, hub);
  hub.attach(a);
  hub.attach(b);
  return { hub, a, b };
}

const entry: CacheEntry = { format: 'json', status: 200, body: '{"ok":true}', chunks: null, usage: null, freshUntil: Number.MAX_SAFE_INTEGER };

describe('the cluster hub', () => {
  test('limits consumed on two workers come out of one bucket', async () => {
    const { a, b } = hubWith();
    const rule = { key: 'k:rpm', limit: 3, windowMs: 60_000, burst: 3 };
    const results: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(...(await a.call<{ allowed: boolean }[]>('state.consume', [rule], [1])).map((r) => r.allowed));
      results.push(...(await b.call<{ allowed: boolean }[]>('state.consume', [rule], [1])).map((r) => r.allowed));
    }
    assert.deepEqual(results, [true, true, true, false, false, false]);
  });

  test('a follower on another worker gets the leader’s events, late ones replayed; the end releases the key', async () => {
    const { a, b } = hubWith();
    const lead = await a.call<{ role: string; token: string }>('flight.claim', 'key', 1);
    assert.equal(lead.role, 'lead');
    a.note('flight.event', 'key', lead.token, { t: 's' });
    a.note('flight.event', 'key', lead.token, { t: 'c', d: 'one' });
    assert.deepEqual(await b.call('flight.claim', 'key', 7), { role: 'follow' });
    a.note('flight.event', 'key', lead.token, { t: 'c', d: 'two' });
    // A stale token (an earlier leader's) publishes nothing.
    a.note('flight.event', 'key', 'not-the-token', { t: 'c', d: 'stray' });
    await a.call('cache.set', 'key', serializeEntry(entry), 60_000);
    a.note('flight.event', 'key', lead.token, { t: 'e', u: 'null', f: '1' });
    assert.deepEqual(
      b.events(7).map((e) => e.t + ('d' in e && e.d !== undefined ? `:${e.d}` : '')),
      ['s', 'c:one', 'c:two', 'e'],
    );
    // The key is free again, and its entry is handed to the next claimer with the lock.
    const next = await b.call<{ role: string; entry?: string }>('flight.claim', 'key', 8);
    assert.equal(next.role, 'entry');
    assert.equal(next.entry, serializeEntry(entry));
  });

  test('a leader’s worker that dies fails its flights, so followers go upstream themselves', async () => {
    const { hub, a, b } = hubWith();
    await a.call('flight.claim', 'key', 1);
    await b.call('flight.claim', 'key', 2);
    hub.detach(1);
    assert.deepEqual(b.events(2), [{ t: 'f' }]);
    assert.equal((await b.call<{ role: string }>('flight.claim', 'key', 3)).role, 'lead');
  });

  test('a worker’s transaction holds the database until it ends; a worker that dies is rolled back', async () => {
    const db = await SqliteThreadDatabase.open(null);
    try {
      await db.exec('CREATE TABLE t (v INTEGER)');
      const { hub, a, b } = hubWith({ db });
      const tx = await a.call<number>('db.begin');
      await a.call('db.query', tx, 'INSERT INTO t (v) VALUES ($1)', [1]);
      // Another worker's statement waits for the transaction (one connection, in order).
      let counted: number | null = null;
      void b.call<{ n: number }[]>('db.query', null, 'SELECT count(*) AS n FROM t', []).then((rows) => (counted = rows[0]!.n));
      await a.call('db.end', tx, true);
      await waitFor(() => counted !== null, 'the other worker’s read');
      assert.equal(counted, 1);
      const dying = await a.call<number>('db.begin');
      await a.call('db.query', dying, 'INSERT INTO t (v) VALUES ($1)', [2]);
      hub.detach(1);
      assert.deepEqual(await b.call('db.query', null, 'SELECT v FROM t ORDER BY v', []), [{ v: 1 }]);
      // A rolled-back transaction of a live worker leaves nothing either.
      const undone = await b.call<number>('db.begin');
      await b.call('db.query', undone, 'INSERT INTO t (v) VALUES ($1)', [3]);
      await b.call('db.end', undone, false);
      assert.deepEqual(await b.call('db.query', null, 'SELECT v FROM t ORDER BY v', []), [{ v: 1 }]);
    } finally {
      await db.close();
    }
  });

  test('an unknown call is an error reply, not a crash', async () => {
    const { a } = hubWith();
    await assert.rejects(a.call('nope'), /unknown cluster call nope/);
  });
});
