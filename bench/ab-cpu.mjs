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
//                         [--pipelines minimal,full,service,cache-hit,anthropic] [--usage]
//
// Pipelines (each once per build; the same request, POST /v1/chat/completions):
//   minimal    route * to an openai-type provider pointing at the mock
//   full       plus key auth and rate and token limits on the memory store
//   service    an HTTP service (services[]) claiming the chat path, forwarding to the same mock
//   cache-hit  the minimal route with the response cache on: the same body every time, so every
//              measured request is answered from the cache (checked once before measuring)
//   anthropic  the minimal route to an anthropic-type provider at the mock: the request is
//              translated to the Messages API and the answer back
//   usage      (--usage) the full pipeline plus usage accounting into the embedded database
// `--batches 1 --batch 50` is a smoke run of a few seconds.
//
// --floor (issue 19) adds Node's floor as two more in-process targets: bare-forward (a bare
// node:http server forwarding through an undici Pool, bench/bare.mjs) and bare-answer (one
// answering the cache hit's bytes), and prints each of B's pipelines over its floor. It adds
// the same two with the least a JSON API gateway must do (bench/bare.mjs forward-json and
// answer-json: the body parsed, a request id, the answer read as text and its length counted),
// and prints the pipelines over those too: what is left is Sluice's own work. With --floor,
// --a may be left out: only build B is measured.
//
// A build is a checkout with node_modules and dist (npx tsc -p tsconfig.json), e.g. main's code
// unpacked with `git archive main | tar -x -C /tmp/base`, then npm ci and tsc there.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, cpuBatch, quantile, startGatewayInProcess } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: ROOT },
    batches: { type: 'string', default: '30' },
    batch: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16' },
    pipelines: { type: 'string', default: 'minimal,full,service,cache-hit' },
    // Adds the full pipeline with usage accounting into the embedded database (in memory).
    usage: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
  },
});
if (opt.a === undefined && !opt.floor) {
  process.stderr.write('usage: node bench/ab-cpu.mjs --a BUILD_A [--b BUILD_B] [--batches N] [--batch N] [--concurrency N] [--pipelines minimal,full,service,cache-hit,anthropic] [--usage]\n');
  process.exit(2);
}
const rootB = resolve(opt.b);
const rootA = opt.a === undefined ? null : resolve(opt.a);
const builds = rootA === null ? [['b', rootB]] : [['a', rootA], ['b', rootB]];
const concurrency = Number(opt.concurrency);
const { Pool } = await import(`${rootB}/node_modules/undici/index.js`);
const KEY = 'sk-bench-0123456789abcdef';
// The same two pipelines as bench/compare.mjs: minimal, and keys + limits on the memory store.
const FULL = { keys: [{ name: 'bench', key: KEY, tier: 'bench' }], tiers: { bench: { limits: { rpm: 100000000, tpm: 100000000 } } } };
// Usage shipped at the end of each batch (drain), so its CPU lands in the batch it belongs to.
const USAGE = (name) => ({ ...FULL, usage: { enabled: true, spoolDir: join(tmpdir(), `sluice-ab-cpu-${process.pid}-${name}`), flushInterval: '1h' }, database: { embedded: 'memory' } });
const BODY = '{"messages":[{"role":"user","content":"Say hello."}],"model":"mock-1"}';
// The minimal route with the response cache on; the body has no temperature, hence anyTemperature.
const CACHE_HIT = { routes: [{ match: '*', cache: { ttl: '1h', anyTemperature: true }, targets: [{ provider: 'mock' }] }] };
// An HTTP service claiming the chat path (a service takes one of Sluice's own paths only when it
// names it): the same POST forwarded as plain HTTP to the same mock. No auth, limits or cache.
const SERVICE = (origin) => ({ services: [{ name: 'api', match: { pathPrefix: '/v1/chat/completions' }, instances: [{ url: origin }], connections: 128 }] });
const PIPELINES = ['minimal', 'full', 'service', 'cache-hit', 'anthropic'];
const pipelines = [...opt.pipelines.split(',').map((p) => p.trim()).filter((p) => p !== ''), ...(opt.usage ? ['usage'] : [])];
for (const p of pipelines) if (![...PIPELINES, 'usage'].includes(p)) throw new Error(`--pipelines: ${p} is not one of ${PIPELINES.join(', ')}`);

const mock = spawn(process.execPath, [`${rootB}/dist/src/cli/main.js`, 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok) => mock.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) ok(m[1]); }));

async function startGateway(root, extra) {
  const raw = { server: { host: '127.0.0.1', port: 0 }, logging: { level: 'warn' }, usage: { enabled: false }, providers: { mock: { type: 'openai', baseUrl: mockUrl, connections: 256 } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }], ...extra };
  return startGatewayInProcess(root, raw, 'ab-cpu');
}

const auth = { authorization: `Bearer ${KEY}` };
// The minimal route to an anthropic-type provider at the mock: the chat request translated to
// the Messages API and the answer back (the translating adapters' client, providers/http/client.ts).
const ANTHROPIC = { providers: { mock: { type: 'anthropic', baseUrl: mockUrl, apiKey: 'sk-ant-bench-0123456789', connections: 256 } } };
const mockOrigin = new URL(mockUrl).origin;
/** Config and request headers of a pipeline, for build `ab` ('a' or 'b'). */
const pipelineSetup = (p, ab) =>
  ({
    minimal: { extra: {}, headers: {} },
    full: { extra: FULL, headers: auth },
    service: { extra: SERVICE(mockOrigin), headers: {} },
    'cache-hit': { extra: CACHE_HIT, headers: {} },
    usage: { extra: USAGE(ab), headers: auth },
    anthropic: { extra: ANTHROPIC, headers: {} },
  })[p];
const targets = [{ name: 'direct', origin: mockOrigin, headers: {} }];
for (const p of pipelines) {
  for (const [ab, root] of builds) {
    const { extra, headers } = pipelineSetup(p, ab);
    targets.push({ name: `${ab.toUpperCase()}-${p}`, ...(await startGateway(root, extra)), headers });
  }
}
/** A bare node:http server in this process with bench/bare.mjs's handler. */
async function startBare(mode, arg) {
  const { bareHandler } = await import('./bare.mjs');
  const { createServer } = await import('node:http');
  const server = createServer({ keepAliveTimeout: 65_000 }, bareHandler(mode, arg));
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, server };
}
if (opt.floor) {
  targets.push({ name: 'bare-forward', ...(await startBare('forward', mockOrigin)), headers: {} });
  targets.push({ name: 'bare-forward-json', ...(await startBare('forward-json', mockOrigin)), headers: {} });
  if (pipelines.includes('cache-hit')) {
    // The bytes B's cache hit serves (after its first request, a miss, has filled the cache).
    const hit = targets.find((t) => t.name === 'B-cache-hit');
    const { request } = await import(`${rootB}/node_modules/undici/index.js`);
    let bytes = null;
    for (let i = 0; i < 2; i++) {
      const res = await request(`${hit.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      bytes = Buffer.from(await res.body.arrayBuffer());
    }
    targets.push({ name: 'bare-answer', ...(await startBare('answer', bytes)), headers: {} });
    targets.push({ name: 'bare-answer-json', ...(await startBare('answer-json', bytes)), headers: {} });
  }
}
for (const t of targets) {
  t.pool = new Pool(t.origin, { connections: concurrency });
  t.samples = [];
}

/** The cache-hit targets must answer from their cache (primed by the warm-up): checked once. */
async function expectCacheHit(t) {
  const res = await t.pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...t.headers }, body: BODY });
  await res.body.dump();
  if (res.headers['x-sluice-cache'] !== 'hit') throw new Error(`${t.name}: the repeated request was not a cache hit (HTTP ${res.statusCode}, x-sluice-cache: ${res.headers['x-sluice-cache']})`);
}

/** µs of this process's CPU per request over `n` requests to target `t` (usage shipped within the batch). */
async function batch(t, n) {
  const us = await cpuBatch(t.pool, { name: t.name, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...t.headers }, body: BODY }, n, concurrency);
  if (t.gateway?.usage === undefined || t.gateway.usage === null) return us;
  // Shipping the batch's usage records is part of its cost: measured and added per request.
  const before = process.cpuUsage();
  await t.gateway.usage.drain();
  const used = process.cpuUsage(before);
  return us + (used.user + used.system) / n;
}

const fmt = (v, d = 1) => v.toFixed(d);
try {
  for (const t of targets) await batch(t, Math.max(1500, Number(opt.batch))); // JIT and connections warm
  for (const t of targets) if (t.name.endsWith('-cache-hit')) await expectCacheHit(t);
  for (let k = 0; k < Number(opt.batches); k++) {
    for (const t of k % 2 === 0 ? targets : [...targets].reverse()) t.samples.push(await batch(t, Number(opt.batch)));
  }
  const direct = targets[0].samples;
  console.log(`A = ${rootA ?? '(none)'}\nB = ${rootB}\n${opt.batches} batches of ${opt.batch} requests per target, concurrency ${concurrency}, alternating.\n`);
  console.log('| target | µs CPU/request (median, client included) | q25–q75 | gateway share (minus direct) |\n|---|---:|---:|---:|');
  for (const t of targets) console.log(`| ${t.name} | ${fmt(quantile(t.samples, 0.5))} | ${fmt(quantile(t.samples, 0.25))}–${fmt(quantile(t.samples, 0.75))} | ${fmt(quantile(t.samples, 0.5) - quantile(direct, 0.5))} |`);
  console.log('');
  for (const p of rootA === null ? [] : pipelines) {
    const a = targets.find((t) => t.name === `A-${p}`).samples;
    const b = targets.find((t) => t.name === `B-${p}`).samples;
    const ratios = a.map((x, k) => (b[k] - direct[k]) / (x - direct[k]));
    console.log(`${p}: B/A gateway CPU per request, paired by batch: median ${fmt(quantile(ratios, 0.5), 3)} (q25 ${fmt(quantile(ratios, 0.25), 3)}, q75 ${fmt(quantile(ratios, 0.75), 3)})`);
  }
  // Within each build, the other pipelines over the minimal model route (issue 17: a service
  // route should cost no more than a model route).
  if (pipelines.includes('minimal')) {
    console.log('');
    for (const ab of builds.map(([x]) => x.toUpperCase())) {
      const minimal = targets.find((t) => t.name === `${ab}-minimal`).samples;
      for (const p of pipelines.filter((q) => q !== 'minimal')) {
        const other = targets.find((t) => t.name === `${ab}-${p}`).samples;
        const ratios = other.map((x, k) => (x - direct[k]) / (minimal[k] - direct[k]));
        console.log(`${ab}: ${p}/minimal gateway CPU per request, paired by batch: median ${fmt(quantile(ratios, 0.5), 3)} (q25 ${fmt(quantile(ratios, 0.25), 3)}, q75 ${fmt(quantile(ratios, 0.75), 3)})`);
      }
    }
  }
  if (opt.floor) {
    // Issue 19's CPU targets, over Node's floor in this same run.
    console.log('');
    const limits = { minimal: 1.15, service: 1.15, full: 1.5, usage: 1.5, 'cache-hit': 1.3 };
    for (const p of pipelines) {
      for (const suffix of ['', '-json']) {
        const floor = targets.find((t) => t.name === `${p === 'cache-hit' ? 'bare-answer' : 'bare-forward'}${suffix}`);
        if (!floor) continue;
        const mine = targets.find((t) => t.name === `B-${p}`).samples;
        const ratios = mine.map((x, k) => (x - direct[k]) / (floor.samples[k] - direct[k]));
        const limit = suffix === '' ? `; issue 19's limit ${limits[p]}×` : '';
        console.log(`B: ${p}/${floor.name} gateway CPU per request, paired by batch: median ${fmt(quantile(ratios, 0.5), 3)} (q25 ${fmt(quantile(ratios, 0.25), 3)}, q75 ${fmt(quantile(ratios, 0.75), 3)})${limit}`);
      }
    }
    // The JSON floor over the plain one: what parsing, the id and the text cost on their own.
    for (const [plain, json] of [['bare-forward', 'bare-forward-json'], ['bare-answer', 'bare-answer-json']]) {
      const a = targets.find((t) => t.name === plain);
      const b = targets.find((t) => t.name === json);
      if (!a || !b) continue;
      const ratios = b.samples.map((x, k) => (x - direct[k]) / (a.samples[k] - direct[k]));
      console.log(`${json}/${plain} CPU per request, paired by batch: median ${fmt(quantile(ratios, 0.5), 3)} (q25 ${fmt(quantile(ratios, 0.25), 3)}, q75 ${fmt(quantile(ratios, 0.75), 3)})`);
    }
  }
} finally {
  for (const t of targets) {
    await t.pool.close();
    await t.gateway?.shutdown(1000);
    t.server?.close();
  }
  mock.kill();
}
