#!/usr/bin/env node
// bench/ab-cpu: the gateway's CPU per request, two builds side by side, on a shared machine.
//
// Throughput on a machine shared with other work moves by 2× between runs; this measures what
// an optimisation changes instead: CPU time per request. Both builds' Gateways run in this one
// process (the mock upstream in a child), and short batches of requests alternate between the
// targets, so both builds see the same noise. A batch's CPU (this process, user + system) over
// its requests, minus the same for the mock reached directly (the load client's own share),
// is the gateway's CPU per request; the B/A ratio is taken batch by batch.
//
//   node bench/ab-cpu.mjs --a /path/to/build-a [--b .] [--batches 30] [--batch 400] [--concurrency 16]
//
// A build is a checkout with node_modules and dist (npx tsc -p tsconfig.json), e.g. main's code
// unpacked with `git archive main | tar -x -C /tmp/base`, then npm ci and tsc there.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: ROOT },
    batches: { type: 'string', default: '30' },
    batch: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16' },
    // Adds the full pipeline with usage accounting into the embedded database (in memory).
    usage: { type: 'boolean', default: false },
  },
});
if (opt.a === undefined) {
  process.stderr.write('usage: node bench/ab-cpu.mjs --a BUILD_A [--b BUILD_B] [--batches N] [--batch N] [--concurrency N]\n');
  process.exit(2);
}
const [rootA, rootB] = [resolve(opt.a), resolve(opt.b)];
const concurrency = Number(opt.concurrency);
const { Pool } = await import(`${rootB}/node_modules/undici/index.js`);
const KEY = 'sk-bench-0123456789abcdef';
// The same two pipelines as bench/compare.mjs: minimal, and keys + limits on the memory store.
const FULL = { keys: [{ name: 'bench', key: KEY, tier: 'bench' }], tiers: { bench: { limits: { rpm: 100000000, tpm: 100000000 } } } };
// Usage shipped at the end of each batch (drain), so its CPU lands in the batch it belongs to.
const USAGE = (name) => ({ ...FULL, usage: { enabled: true, spoolDir: join(tmpdir(), `sluice-ab-cpu-${process.pid}-${name}`), flushInterval: '1h' }, database: { embedded: 'memory' } });
const BODY = '{"messages":[{"role":"user","content":"Say hello."}],"model":"mock-1"}';

const mock = spawn(process.execPath, [`${rootB}/dist/src/cli/main.js`, 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok) => mock.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) ok(m[1]); }));

async function startGateway(root, extra) {
  const { compileConfig } = await import(`${root}/dist/src/config/compile.js`);
  const { validateConfig } = await import(`${root}/dist/src/config/load.js`);
  const { createLogger } = await import(`${root}/dist/src/observability/logger.js`);
  const { Gateway } = await import(`${root}/dist/src/gateway/gateway.js`).catch(() => import(`${root}/dist/src/server/app.js`));
  const raw = { server: { host: '127.0.0.1', port: 0 }, logging: { level: 'warn' }, usage: { enabled: false }, providers: { mock: { type: 'openai', baseUrl: mockUrl, connections: 256 } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }], ...extra };
  const gateway = await Gateway.create(compileConfig(validateConfig(raw, 'ab-cpu', {}), 'ab-cpu'), { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })) });
  return { gateway, origin: (await gateway.listen()).url };
}

const auth = { authorization: `Bearer ${KEY}` };
const targets = [
  { name: 'direct', origin: new URL(mockUrl).origin, headers: {} },
  { name: 'A-minimal', ...(await startGateway(rootA, {})), headers: {} },
  { name: 'B-minimal', ...(await startGateway(rootB, {})), headers: {} },
  { name: 'A-full', ...(await startGateway(rootA, FULL)), headers: auth },
  { name: 'B-full', ...(await startGateway(rootB, FULL)), headers: auth },
  ...(opt.usage
    ? [
        { name: 'A-usage', ...(await startGateway(rootA, USAGE('a'))), headers: auth },
        { name: 'B-usage', ...(await startGateway(rootB, USAGE('b'))), headers: auth },
      ]
    : []),
].map((t) => ({ ...t, pool: new Pool(t.origin, { connections: concurrency }), samples: [] }));

/** µs of this process's CPU per request over `n` requests at the set concurrency. */
async function batch(t, n) {
  let started = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < n) {
        const res = await t.pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...t.headers }, body: BODY });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode}`);
      }
    }),
  );
  await t.gateway?.usage?.drain();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const sorted = (xs) => [...xs].sort((x, y) => x - y);
const quantile = (xs, q) => sorted(xs)[Math.floor((xs.length - 1) * q)];
const fmt = (v, d = 1) => v.toFixed(d);
try {
  for (const t of targets) await batch(t, 1500); // JIT and connections warm
  for (let k = 0; k < Number(opt.batches); k++) {
    for (const t of k % 2 === 0 ? targets : [...targets].reverse()) t.samples.push(await batch(t, Number(opt.batch)));
  }
  const direct = targets[0].samples;
  console.log(`A = ${rootA}\nB = ${rootB}\n${opt.batches} batches of ${opt.batch} requests per target, concurrency ${concurrency}, alternating.\n`);
  console.log('| target | µs CPU/request (median, client included) | q25–q75 | gateway share (minus direct) |\n|---|---:|---:|---:|');
  for (const t of targets) console.log(`| ${t.name} | ${fmt(quantile(t.samples, 0.5))} | ${fmt(quantile(t.samples, 0.25))}–${fmt(quantile(t.samples, 0.75))} | ${fmt(quantile(t.samples, 0.5) - quantile(direct, 0.5))} |`);
  console.log('');
  for (const p of opt.usage ? ['minimal', 'full', 'usage'] : ['minimal', 'full']) {
    const a = targets.find((t) => t.name === `A-${p}`).samples;
    const b = targets.find((t) => t.name === `B-${p}`).samples;
    const ratios = a.map((x, k) => (b[k] - direct[k]) / (x - direct[k]));
    console.log(`${p}: B/A gateway CPU per request, paired by batch: median ${fmt(quantile(ratios, 0.5), 3)} (q25 ${fmt(quantile(ratios, 0.25), 3)}, q75 ${fmt(quantile(ratios, 0.75), 3)})`);
  }
} finally {
  for (const t of targets) {
    await t.pool.close();
    await t.gateway?.shutdown(1000);
  }
  mock.kill();
}
