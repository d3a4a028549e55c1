import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { FuzzInputs } from '../../bench/fuzz/inputs.js';
import { describeCase, runFuzz } from '../../bench/fuzz/run.js';
import { Backend, startBackends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const ADMIN = 'admin-token-fuzz-0123456789';
/** Fixed seed and count: the same cases every run (scripts/fuzz.mjs runs longer, other seeds). */
const SEED = 15;
const CASES = 600;

describe('fuzzing the request surfaces and the admin API (issue 15)', () => {
  let gw: TestGateway;
  let backend: Backend;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
    [backend] = await startBackends('api');
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '50ms' },
      tiers: { pro: {} },
      providers: { mock: { type: 'mock' } },
      routes: [{ match: '*', targets: [{ provider: 'mock' }], cache: { ttl: '1m' } }],
      services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: backend.url }] }],
    });
  });
  after(async () => {
    await gw.close();
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${CASES} mutated requests (seed ${SEED}): no 5xx, no stall, no dropped connection, and the gateway still answers`, async () => {
    const inputs = new FuzzInputs(SEED, { adminToken: ADMIN, servicePrefix: '/api/' });
    const report = await runFuzz(gw.url, inputs, { done: (n) => n >= CASES, concurrency: 4, stallMs: 30_000 });
    const why = report.failures.map(describeCase).join('\n');
    assert.equal(report.tried, CASES);
    assert.equal(report.fiveXX, 0, why);
    assert.equal(report.stalls, 0, why);
    assert.equal(report.dropped, 0, why);
    assert.ok((report.byClass['4xx'] ?? 0) > CASES / 4, `mostly refused, as hostile input should be: ${JSON.stringify(report.byClass)}`);
    assert.ok((report.byClass['2xx'] ?? 0) > 0, `some still served: ${JSON.stringify(report.byClass)}`);
    const health = await request(`${gw.url}/health`);
    assert.equal(health.statusCode, 200);
    await health.body.dump();
    const errors = gw.logs.filter((l) => l.includes('"level":50'));
    assert.deepEqual(errors, [], 'nothing a client sent was logged as an error');
  });
});
