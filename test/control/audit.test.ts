import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AuditLog, DETAIL_MAX } from '../../src/control/audit.js';
import { bothDatabases } from '../helpers/postgres.js';

// The audit log's table and queries on both databases (issue 20).

const { targets, stop } = bothDatabases();
after(stop);

for (const target of targets) {
  describe(`audit log: ${target.name}`, () => {
    test('entries come back newest first, page by id, keep their fields, and store what PostgreSQL would refuse', async () => {
      const db = await target.open();
      try {
        let now = Date.parse('2026-12-03T06:00:00.000Z');
        const log = new AuditLog(db, () => now);
        for (let i = 0; i < 5; i++) {
          now += 1_000;
          await log.write({ actor: `a${i}`, role: 'admin', method: 'POST', action: '/admin/keys', target: i === 2 ? 'key\u0000id' : null, status: 201, ip: '127.0.0.1', requestId: `r${i}`, detail: i === 4 ? 'x'.repeat(DETAIL_MAX + 100) : '{"name":"k"}' });
        }
        const all = await log.list(10, null);
        assert.deepEqual(all.map((e) => e.actor), ['a4', 'a3', 'a2', 'a1', 'a0']);
        assert.equal(all[0]!.at, '2026-12-03T06:00:05.000Z');
        assert.equal(all[0]!.detail!.length, DETAIL_MAX);
        assert.equal(all[2]!.target, 'key\ufffdid');
        assert.equal(all[1]!.detail, '{"name":"k"}');
        assert.equal(all[1]!.status, 201);
        const older = await log.list(10, all[1]!.id);
        assert.deepEqual(older.map((e) => e.actor), ['a2', 'a1', 'a0']);
        // Changes within one millisecond keep their order (ids would otherwise tie on time and order at random).
        for (let i = 0; i < 20; i++) await log.write({ actor: `same-ms-${i}`, role: 'keys', method: 'DELETE', action: '/admin/keys/:id', target: null, status: 200, ip: '::1', requestId: `s${i}`, detail: null });
        const burst = (await log.list(20, null)).map((e) => e.actor);
        assert.deepEqual(burst, Array.from({ length: 20 }, (_, i) => `same-ms-${19 - i}`));
      } finally {
        await db.close();
      }
    });
  });
}
