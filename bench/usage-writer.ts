/**
 * Usage accounting, measured: (1) records per second the writer ships from its spool into a
 * PostgreSQL server, per batch size, and what appending one record costs on the request path
 * per fsync policy; (2) request latency through the gateway with accounting on (fsync
 * `interval` and `always`) and off, in interleaved rounds of the same open-loop load.
 *
 *   npm run build && node dist/bench/usage-writer.js   (needs PostgreSQL 15 binaries, as the tests do)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildPlan } from '../src/bench/plan.js';
import { buildResult } from '../src/bench/result.js';
import { runBench } from '../src/bench/runner.js';
import { compileConfig, type UsageRuntime } from '../src/config/compile.js';
import { validateConfig } from '../src/config/load.js';
import { openDatabase } from '../src/db/index.js';
import { systemClock } from '../src/lib/clock.js';
import { RequestContext } from '../src/exchange/context.js';
import { summarize, type RequestSummary } from '../src/exchange/summary.js';
import { UsageWriter } from '../src/accounting/writer.js';
import { startGateway, type TestGateway } from '../test/helpers/gateway.js';
import { startPostgres } from '../test/helpers/postgres.js';

const RECORDS = 50_000;
const ALWAYS_RECORDS = 2_000;
const BATCH_SIZES = [100, 500, 2_000];
const RATE = 300;
const ROUND_MS = 5_000;
const ROUNDS = 3;

const pg = await startPostgres();
const tmp = mkdtempSync(join(os.tmpdir(), 'sluice-bench-usage-'));
const config = compileConfig(validateConfig({ usage: { enabled: false } }, 'bench', {}), 'bench');
const route = config.routes[0]!;
const logger = pino({ level: 'silent' });

/** A finished request as the gateway would publish it. */
function context(i: number): RequestSummary {
  const ctx = new RequestContext(`bench-${Date.now()}-${i}`, 'chat', { model: 'mock-1', messages: [{ role: 'user', content: 'hello' }] }, route, 0);
  ctx.target = route.targets[0]!;
  ctx.status = 200;
  ctx.firstByteAt = 3;
  ctx.endedAt = 5;
  ctx.usage = { promptTokens: 12, cachedPromptTokens: 0, completionTokens: 30, totalTokens: 42 };
  return summarize(ctx);
}

function options(batchSize: number, fsync: UsageRuntime['fsync'], dir: string): UsageRuntime {
  return { enabled: true, spoolDir: join(tmp, dir), batchSize, flushIntervalMs: 3_600_000, fsync, retentionMs: null };
}

console.log(`usage accounting, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, PostgreSQL 15 on loopback (fsync=off, as in the tests)\n`);

const db = await openDatabase({ url: pg.url, dataDir: null, poolSize: 4, statementTimeoutMs: 30_000 });
console.log(`## Writer: spool → PostgreSQL (${RECORDS.toLocaleString('en')} records per row)\n`);
console.log('| batch size | append per record | ship (records/s) |\n|---|---|---|');
for (const batchSize of BATCH_SIZES) {
  const writer = new UsageWriter(options(batchSize, 'interval', `batch-${batchSize}`), db, config.prices, systemClock, logger);
  const contexts = Array.from({ length: RECORDS }, (_, i) => context(i));
  const t0 = performance.now();
  for (const ctx of contexts) writer.record(ctx);
  const appendUs = ((performance.now() - t0) * 1000) / RECORDS;
  const t1 = performance.now();
  await writer.drain();
  const shipS = (performance.now() - t1) / 1000;
  if (writer.stats.stored !== RECORDS) throw new Error(`stored ${writer.stats.stored} of ${RECORDS}`);
  await writer.stop(1_000);
  console.log(`| ${batchSize} | ${appendUs.toFixed(2)} µs | ${Math.round(RECORDS / shipS).toLocaleString('en')} |`);
}

const always = new UsageWriter(options(500, 'always', 'always'), db, config.prices, systemClock, logger);
const t2 = performance.now();
for (let i = 0; i < ALWAYS_RECORDS; i++) always.record(context(i));
const alwaysUs = ((performance.now() - t2) * 1000) / ALWAYS_RECORDS;
await always.stop(10_000);
console.log(`\nfsync always: append (write + fdatasync) per record ${alwaysUs.toFixed(1)} µs over ${ALWAYS_RECORDS.toLocaleString('en')} records, spool on ${tmp}\n`);
await db.close();

// Request path: the same load against three gateways, interleaved.
const variants: [string, Record<string, unknown>][] = [
  ['off', { usage: { enabled: false } }],
  ['on, fsync interval', { database: { url: pg.url }, usage: { spoolDir: join(tmp, 'gw-interval'), fsync: 'interval' } }],
  ['on, fsync always', { database: { url: pg.url }, usage: { spoolDir: join(tmp, 'gw-always'), fsync: 'always' } }],
];
const gateways: [string, TestGateway][] = [];
for (const [name, raw] of variants) gateways.push([name, await startGateway({ ...raw, logging: { level: 'silent' } })]);
console.log(`## Request path: open loop ${RATE}/s, ${ROUND_MS / 1000} s per cell, ${ROUNDS} interleaved rounds, chat JSON to the in-process mock\n`);
console.log('| round | accounting | ok | p50 | p99 | p99.9 |\n|---|---|---|---|---|---|');
const load = (url: string) => buildPlan({ rate: String(RATE), duration: `${ROUND_MS}ms`, model: 'mock-1', 'max-tokens': '16' }, [`${url}/v1`]).plan;
for (const [, gw] of gateways) await runBench(buildPlan({ rate: '100', duration: '1s', model: 'mock-1' }, [`${gw.url}/v1`]).plan); // warm up
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, gw] of gateways) {
    const r = buildResult(await runBench(load(gw.url)));
    console.log(`| ${round} | ${name} | ${r.counts.ok} | ${r.latency.p50.toFixed(2)} ms | ${r.latency.p99.toFixed(2)} ms | ${r.latency.p999.toFixed(2)} ms |`);
  }
}
for (const [name, gw] of gateways) {
  const stats = gw.gateway.usage?.stats;
  await gw.close();
  if (stats !== undefined) console.log(`\n${name}: ${stats.spooled} records spooled, ${stats.stored} stored after shutdown`);
}
await pg.stop();
rmSync(tmp, { recursive: true, force: true });
