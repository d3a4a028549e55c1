#!/usr/bin/env node
// bench/embedded-db: what the embedded database costs (issue 16).
//   1. `sluice start` in a fresh folder until GET /health answers 200 (first start), then
//      stopped and started again on the same folder (restart): wall time, the process's CPU
//      time (user + system, all threads) at that moment, and its RSS 2 s later, idle.
//   2. Storing usage records: insertUsage in batches of 500 into the embedded database (a
//      data folder), CPU time of the whole process (all threads: the database's own thread
//      included) per stored record, and the event loop's worst delay meanwhile.
//
//   node bench/embedded-db.mjs [--root BUILD] [--records 50000] [--restarts 3]
//
// BUILD is a checkout with node_modules and dist (default: this one); pass main's to measure
// the previous embedded database with the same script. The machine may be shared: CPU time is
// the figure to compare, wall time is reported beside it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { describeMachine, freePort, ROOT } from './lib.mjs';

const { values: opt } = parseArgs({ options: { root: { type: 'string', default: ROOT }, records: { type: 'string', default: '50000' }, restarts: { type: 'string', default: '3' } } });
const root = resolve(opt.root);
const RECORDS = Number(opt.records);
const BATCH = 500;
const TICKS = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** CPU seconds (user + system, all threads) and RSS (MB) of a running process, from /proc. */
function usageOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { cpu, rss };
}

async function startOnce(folder, extra = []) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'start', '--port', String(port), ...extra], { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sluice exited ${child.exitCode}: ${stderr}`);
    try {
      const res = await request(`http://127.0.0.1:${port}/health`);
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 120_000) throw new Error('no /health within 120 s');
    await sleep(10);
  }
  const wallMs = performance.now() - started;
  const { cpu } = usageOf(child.pid);
  await sleep(2_000);
  const { rss } = usageOf(child.pid);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { wallMs, cpuMs: cpu * 1000, rssMb: rss };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function record(i, at) {
  return JSON.stringify({
    id: `0193${String(i).padStart(8, '0')}-0000-7000-8000-${String(i).padStart(12, '0')}`,
    request_id: `req-${i}`,
    started_at: new Date(at + i).toISOString(),
    principal: `key:k${i % 50}`,
    key_id: `k${i % 50}`,
    user_id: `user-${i % 200}`,
    tier: 'default',
    route: 'main',
    endpoint: 'chat',
    stream: i % 2 === 0,
    provider: 'openai',
    model: 'gpt-4o',
    target_model: 'gpt-4o-2024-08-06',
    fallback_model: null,
    status: 200,
    error_code: null,
    client_gone: false,
    latency_ms: 123.45,
    ttfb_ms: 45.6,
    upstream_ms: 120.1,
    prompt_tokens: 812,
    completion_tokens: 164,
    cached_prompt_tokens: 0,
    estimated: false,
    cost_usd: 0.00367,
    cache: 'miss',
    retries: 0,
  });
}

async function insertCost() {
  const { openDatabase } = await import(join(root, 'dist/src/db/index.js'));
  const { insertUsage } = await import(join(root, 'dist/src/accounting/store.js'));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-embedded-'));
  const db = await openDatabase({ url: null, dataDir: join(dir, 'data'), poolSize: 1, statementTimeoutMs: 60_000 });
  const at = Date.now();
  const lines = Array.from({ length: RECORDS + 2_000 }, (_, i) => record(i, at));
  // Warm-up (statement caches, JIT), not measured.
  for (let i = RECORDS; i < lines.length; i += BATCH) await insertUsage(db, lines.slice(i, i + BATCH));
  // The event loop's delay with nothing to do, over a comparable span: on a shared machine
  // it is far from zero, and what the inserts add is the difference.
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await sleep(3_000);
  idle.disable();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let stored = 0;
  for (let i = 0; i < RECORDS; i += BATCH) stored += await insertUsage(db, lines.slice(i, i + BATCH));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Time the gateway's own thread was busy (not waiting in the event loop): its share of the work.
  const elu = performance.eventLoopUtilization(elu0);
  loop.disable();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  if (stored !== RECORDS) throw new Error(`stored ${stored} of ${RECORDS}`);
  return {
    cpuUsPerRecord: (cpu.user + cpu.system) / RECORDS,
    wallUsPerRecord: (wallMs * 1000) / RECORDS,
    mainThreadUsPerRecord: (elu.active * 1000) / RECORDS,
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    idleMaxMs: idle.max / 1e6,
    idleP99Ms: idle.percentile(99) / 1e6,
  };
}

const out = [];
const log = (s = '') => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};
log(`# Embedded database (bench/embedded-db.mjs)\n`);
const m = describeMachine();
log(`Build: ${root === ROOT ? `this checkout (${m.commit})` : root}. Machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGb} GB, Linux ${m.kernel}, Node ${m.node}; load average at start ${m.loadAverageAtStart.join(' / ')}.`);
log('The machine is shared with other work while this runs: CPU time is the steadier figure; wall time is beside it.\n');

const folder = mkdtempSync(join(tmpdir(), 'sluice-bench-start-'));
try {
  const first = await startOnce(folder);
  const restarts = [];
  for (let i = 0; i < Number(opt.restarts); i++) restarts.push(await startOnce(folder));
  // The same gateway with no database at all, to tell the database's share from the rest.
  const noDbConfig = join(folder, 'no-db.yaml');
  writeFileSync(noDbConfig, 'usage: { enabled: false }\nproviders:\n  mock: { type: mock }\nroutes:\n  - match: "*"\n    targets: [{ provider: mock }]\n');
  const noDb = await startOnce(folder, ['--config', noDbConfig]);
  log('| start | CPU to /health 200 | wall to /health 200 | RSS 2 s after, idle |');
  log('|---|---|---|---|');
  log(`| first (fresh folder) | ${first.cpuMs.toFixed(0)} ms | ${first.wallMs.toFixed(0)} ms | ${first.rssMb.toFixed(0)} MB |`);
  log(`| restart (median of ${restarts.length}) | ${median(restarts.map((r) => r.cpuMs)).toFixed(0)} ms | ${median(restarts.map((r) => r.wallMs)).toFixed(0)} ms | ${median(restarts.map((r) => r.rssMb)).toFixed(0)} MB |`);
  log(`| for reference: no database (usage.enabled: false) | ${noDb.cpuMs.toFixed(0)} ms | ${noDb.wallMs.toFixed(0)} ms | ${noDb.rssMb.toFixed(0)} MB |`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}

const ins = await insertCost();
log(`\nStoring ${RECORDS.toLocaleString('en')} usage records in batches of ${BATCH} into the embedded database (data folder):\n`);
log('| CPU per record (all threads) | of which the event loop\'s thread (busy time) | wall per record | event loop delay p99 / max, inserting | the same, idle (3 s before) |');
log('|---|---|---|---|---|');
log(`| ${ins.cpuUsPerRecord.toFixed(1)} µs | ${ins.mainThreadUsPerRecord.toFixed(1)} µs | ${ins.wallUsPerRecord.toFixed(1)} µs | ${ins.loopP99Ms.toFixed(1)} / ${ins.loopMaxMs.toFixed(1)} ms | ${ins.idleP99Ms.toFixed(1)} / ${ins.idleMaxMs.toFixed(1)} ms |`);
process.exit(0);
