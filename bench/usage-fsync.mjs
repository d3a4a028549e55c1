#!/usr/bin/env node
// bench/usage-fsync: what `usage.fsync: always` costs against the default `interval` (issue 15).
//
// Two gateways of this build run in this process, one per policy, each with its own spool on
// the same disk and both shipping to one PostgreSQL (started as the tests start it); the mock
// upstream runs in a child. Short batches of closed-loop requests alternate between them (and
// the mock reached directly, to subtract the load client's own CPU), so both policies see the
// same noise of a shared machine. Per batch: throughput, the gateway's CPU per request, p50/p99,
// and the fdatasync calls the spool made. Ratios are taken batch by batch; the medians are
// reported.
//
//   npx tsc -p tsconfig.json && node bench/usage-fsync.mjs [--batches 20] [--batch 500] [--concurrency 32,128]
//     [--base DIR]   (also the two policies of another build, e.g. the code before a change, in the same batches)
//
// A base build is a checkout with node_modules and dist, as for bench/ab-cpu.mjs:
// `git archive <commit> | tar -x -C /tmp/base`, link or install node_modules, tsc there.
// Writes bench/results/<date>-usage-fsync.{json,md}. Needs PostgreSQL binaries (as the tests).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, isoDate, ROOT } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32,128' },
    base: { type: 'string' },
  },
});
const BATCHES = Number(opt.batches);
const BATCH = Number(opt.batch);
const CONCURRENCY = opt.concurrency.split(',').map(Number);
const BODY = '{"messages":[{"role":"user","content":"Say hello."}],"model":"mock-1"}';

const machine = describeMachine();
const { Pool } = await import(`${ROOT}/node_modules/undici/index.js`);
const { startPostgres } = await import(`${ROOT}/dist/test/helpers/postgres.js`);

const pg = await startPostgres();
// The spools go on the working tree's disk, not a tmpfs: fdatasync must reach a device.
const tmp = mkdtempSync(join(ROOT, '.bench-usage-fsync-'));
const mock = spawn(process.execPath, [`${ROOT}/dist/src/cli/main.js`, 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok) => mock.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) ok(m[1]); }));

async function startGateway(build, name, fsync) {
  const { compileConfig } = await import(`${build}/dist/src/config/compile.js`);
  const { validateConfig } = await import(`${build}/dist/src/config/load.js`);
  const { createLogger } = await import(`${build}/dist/src/observability/logger.js`);
  const { Gateway } = await import(`${build}/dist/src/gateway/gateway.js`).catch(() => import(`${build}/dist/src/server/app.js`));
  const raw = {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'warn' },
    database: { url: pg.url },
    usage: { spoolDir: join(tmp, name), fsync },
    providers: { mock: { type: 'openai', baseUrl: mockUrl, connections: 256 } },
    routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
  };
  const gateway = await Gateway.create(compileConfig(validateConfig(raw, 'usage-fsync', {}), 'usage-fsync'), { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })) });
  return { name, gateway, origin: (await gateway.listen()).url };
}

const builds = [{ prefix: '', root: ROOT }, ...(opt.base === undefined ? [] : [{ prefix: 'base-', root: opt.base }])];
const targets = [{ name: 'direct', origin: new URL(mockUrl).origin, gateway: null }];
for (const b of builds) targets.push(await startGateway(b.root, `${b.prefix}interval`, 'interval'), await startGateway(b.root, `${b.prefix}always`, 'always'));
for (const t of targets) t.pool = new Pool(t.origin, { connections: Math.max(...CONCURRENCY), pipelining: 1 });

async function batch(target, concurrency) {
  const latencies = [];
  let next = 0;
  const worker = async () => {
    while (next < BATCH) {
      next++;
      const t0 = performance.now();
      const res = await target.pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: BODY });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${target.name}: status ${res.statusCode}`);
      latencies.push(performance.now() - t0);
    }
  };
  const spool = target.gateway?.usage?.spool;
  const syncs0 = spool?.syncs ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    rps: (BATCH / ms) * 1000,
    cpuUsPerReq: (cpu.user + cpu.system) / BATCH,
    p50: latencies[Math.floor(BATCH * 0.5)],
    p99: latencies[Math.floor(BATCH * 0.99)],
    syncs: (spool?.syncs ?? 0) - syncs0,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const results = [];
for (const concurrency of CONCURRENCY) {
  for (const t of targets) await batch(t, concurrency); // warm-up
  const rows = [];
  for (let i = 0; i < BATCHES; i++) {
    // Alternate the order so no target always follows the same one.
    const order = i % 2 === 0 ? targets : [targets[0], ...targets.slice(1).reverse()];
    const row = {};
    for (const t of order) row[t.name] = await batch(t, concurrency);
    rows.push(row);
  }
  const gatewayCpu = (row, name) => row[name].cpuUsPerReq - row.direct.cpuUsPerReq;
  const perBuild = builds.map(({ prefix }) => {
    const [iv, al] = [`${prefix}interval`, `${prefix}always`];
    return {
      build: prefix === '' ? 'this tree' : `base (${opt.base})`,
      medianRps: { interval: r(median(rows.map((x) => x[iv].rps)), 0), always: r(median(rows.map((x) => x[al].rps)), 0) },
      medianRpsRatioAlwaysToInterval: r(median(rows.map((x) => x[al].rps / x[iv].rps)), 3),
      medianGatewayCpuUsPerReq: { interval: r(median(rows.map((x) => gatewayCpu(x, iv))), 1), always: r(median(rows.map((x) => gatewayCpu(x, al))), 1) },
      medianCpuRatioAlwaysToInterval: r(median(rows.map((x) => gatewayCpu(x, al) / gatewayCpu(x, iv))), 3),
      medianP50Ms: { interval: r(median(rows.map((x) => x[iv].p50))), always: r(median(rows.map((x) => x[al].p50))) },
      medianP99Ms: { interval: r(median(rows.map((x) => x[iv].p99))), always: r(median(rows.map((x) => x[al].p99))) },
      syncsPerBatch: { interval: median(rows.map((x) => x[iv].syncs)), always: median(rows.map((x) => x[al].syncs)) },
    };
  });
  const summary = { concurrency, batches: BATCHES, requestsPerBatch: BATCH, directRps: r(median(rows.map((x) => x.direct.rps)), 0), perBuild, rows };
  results.push(summary);
  console.log(JSON.stringify({ ...summary, rows: undefined }));
}

const stored = {};
for (const t of targets.filter((x) => x.gateway !== null)) {
  await t.gateway.shutdown(5_000);
  stored[t.name] = t.gateway.usage?.stats ?? null;
}
mock.kill();
await pg.stop();
rmSync(tmp, { recursive: true, force: true });

const date = isoDate();
const buildArgs = opt.base === undefined ? '' : ` --base ${opt.base}`;
const out = { date, machine, command: `node bench/usage-fsync.mjs --batches ${BATCHES} --batch ${BATCH} --concurrency ${CONCURRENCY.join(',')}${buildArgs}`, results, stored };
writeFileSync(join(ROOT, 'bench/results', `${date}-usage-fsync.json`), JSON.stringify(out, null, 2) + '\n');
const lines = [
  `# usage.fsync: always vs interval (${date})`,
  '',
  `Command: \`npx tsc -p tsconfig.json && ${out.command}\` (script: \`bench/usage-fsync.mjs\`).`,
  '',
  `Machine: ${machine.cores} × ${machine.cpuModel}, ${machine.memoryGb} GB, kernel ${machine.kernel}, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' / ')}. Spools on the working tree's disk; PostgreSQL on loopback.`,
  '',
  '| build | concurrency | req/s interval / always | always ÷ interval, req/s (median of per-batch ratios) | gateway CPU µs/req interval / always | always ÷ interval, CPU | p50 ms interval / always | p99 ms interval / always | fdatasync per ' + BATCH + ' requests (interval / always) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.flatMap((s) => s.perBuild.map((b) => `| ${b.build} | ${s.concurrency} | ${b.medianRps.interval} / ${b.medianRps.always} | ${b.medianRpsRatioAlwaysToInterval} | ${b.medianGatewayCpuUsPerReq.interval} / ${b.medianGatewayCpuUsPerReq.always} | ${b.medianCpuRatioAlwaysToInterval} | ${b.medianP50Ms.interval} / ${b.medianP50Ms.always} | ${b.medianP99Ms.interval} / ${b.medianP99Ms.always} | ${b.syncsPerBatch.interval} / ${b.syncsPerBatch.always} |`)),
  '',
  `The mock reached directly (no gateway): ${results.map((s) => `${s.directRps} req/s at concurrency ${s.concurrency}`).join(', ')}. Gateway CPU is this process's CPU per request minus the same for the direct batches (the load client's share). The base build has no spool counters, so its syncs show 0 (it made one fdatasync per record with \`always\`).`,
  '',
];
writeFileSync(join(ROOT, 'bench/results', `${date}-usage-fsync.md`), lines.join('\n'));
console.log(lines.join('\n'));
process.exit(0);
