#!/usr/bin/env node
// bench/compare: Sluice next to the references, measured in one run on one machine.
//
// Starts the mock upstream, nginx (proxy_pass with upstream keepalive), haproxy, Node's floor
// (bench/bare.mjs: a bare node:http forwarder on an undici Pool, and a bare server answering
// fixed bytes), Sluice with its default config (usage on), Sluice with the minimal pipeline, Sluice with the "full" pipeline, Sluice forwarding the same request as an HTTP
// service (services[]) and Sluice answering it from its response cache (every request a hit),
// plus any --extra OpenAI-compatible URL; then,
// in interleaved rounds, measures each target's closed-loop throughput (wrk, or sluice bench
// without wrk) and open-loop latency at a fixed rate (sluice bench, latency from the scheduled
// start). Prints req/s and p50/p99/p99.9 per target with the ratios to direct and to nginx,
// and writes bench/results/<date>-compare.json and .md with the machine described.
//
//   node bench/compare.mjs [--rounds 2] [--seconds 8] [--rate 1000] [--extra URL] …
//   node bench/compare.mjs --scenario http   (HTTP route: nginx and Sluice each fronting the same two instances)
//   node bench/compare.mjs --targets sluice-minimal,sluice-service   (only these, beside direct)
// Run `node bench/compare.mjs --help` for every option. Build first: npx tsc -p tsconfig.json
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { summarizeProfile } from './cpuprofile.mjs';
import { formatMarkdown, formatTable } from './compare-report.mjs';
import { CLOCK_TICKS, cpuShare, cpuTimes, describeMachine, freePort, hasCommand, isoDate, loadDist, ROOT, round, rssBytes, startChild, startMock, startSluice, treeCpu, waitHttp, waitQuiet } from './lib.mjs';

// The "full pipeline" target: key auth, rate and token limits, a cache lookup that misses and
// usage accounting, with in-memory stores (state in memory, SQLite in memory, the spool in a
// temporary folder). wrk sends one body over and over, so a plain cache would answer it from
// memory; the client sends `Cache-Control: no-cache` instead: the cache stage computes the key,
// skips the read, goes upstream and stores the answer, as a miss does (the read it skips is a
// map lookup).
const FULL_PIPELINE_CONFIG = {
  keys: [{ name: 'bench', key: 'sk-bench-0123456789abcdef', tier: 'bench' }],
  tiers: { bench: { limits: { rpm: 100000000, tpm: 100000000 } } },
  routes: [{ match: '*', cache: { ttl: '5m', anyTemperature: true }, targets: [{ provider: 'mock' }] }],
  database: { embedded: 'memory' },
};
const FULL_PIPELINE_HEADERS = { authorization: `Bearer ${FULL_PIPELINE_CONFIG.keys[0].key}`, 'cache-control': 'no-cache' };

// The "cache hit" target: the minimal pipeline plus the response cache on the route. Every
// client sends the same body (no temperature, hence anyTemperature), so the first request is a
// miss and every later one a hit, answered without going upstream.
const CACHE_HIT_CONFIG = { routes: [{ match: '*', cache: { ttl: '1h', anyTemperature: true }, targets: [{ provider: 'mock' }] }] };

// The "service" target (issue 17): the same POST forwarded as plain HTTP to the same mock, by a
// services[] entry claiming the chat path (a service takes one of Sluice's own paths only when
// it names it). No auth, limits or cache: the plain forwarding path, beside sluice-minimal.
const serviceConfig = (origins) => ({
  server: { host: '127.0.0.1' },
  logging: { level: 'warn' },
  services: [{ name: 'api', match: { pathPrefix: '/v1/chat/completions' }, instances: origins.map((url) => ({ url })), connections: 128 }],
});

const HELP = `Usage: node bench/compare.mjs [options]

Interleaved rounds against the same mock upstream: direct, nginx, Sluice (minimal pipeline),
Sluice (full pipeline), Sluice (the request as an HTTP service), Sluice (cache hits), and any
--extra URL. Writes bench/results/<date>-compare.{json,md}.

  --scenario S        model (default): the targets above. http: an HTTP route (issue 9):
                      two mock instances, reached directly (the first), through nginx
                      (an upstream of both, round robin, keepalive) and through a Sluice
                      service with both instances (round robin); writes <date>-compare-http.*
  --targets LIST      Only these targets (comma-separated names, e.g.
                      sluice-minimal,sluice-service); direct always runs (the ratios need it).
                      sluice-minimal-w2 and sluice-full-w2 (server.workers: 2) run only
                      when named here
  --rounds N          Interleaved rounds (default 2)
  --seconds S         Closed-loop throughput run per target per round (default 8)
  --open-seconds S    Open-loop latency run per target per round (default 8)
  --rate N[,N…]       Open-loop rates, req/s (default 1000; e.g. 1000,2000 runs both
                      per target per round)
  --connections N     Closed-loop connections (default 50, as wrk -c50)
  --generator G       Closed-loop generator: wrk or sluice (default wrk when installed)
  --nginx-workers N   nginx worker_processes (default 1: Sluice is one process too)
  --extra URL         Another OpenAI-compatible base URL on loopback (repeatable)
  --no-nginx          Skip nginx even when installed
  --no-haproxy        Skip haproxy even when installed
  --no-bare           Skip Node's floor (bare-forward, bare-answer, and their JSON forms
                      bare-forward-json, bare-answer-json: bench/bare.mjs)
  --no-profile        Skip the CPU profile of Sluice under closed-loop load
  --profile-target T  Which Sluice target to profile (default sluice-minimal): it is started
                      again on its own config (and folders) under node --cpu-prof, after
                      the rounds, in place of the one measured
  --out DIR           Results directory (default bench/results)
  --quick             1 round of 2 s each, no profile, nothing written (a smoke test)
  -h, --help
`;

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'model' },
    targets: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '8' },
    'open-seconds': { type: 'string', default: '8' },
    rate: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '50' },
    generator: { type: 'string' },
    'nginx-workers': { type: 'string', default: '1' },
    extra: { type: 'string', multiple: true, default: [] },
    'no-nginx': { type: 'boolean', default: false },
    'no-haproxy': { type: 'boolean', default: false },
    'no-bare': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'profile-target': { type: 'string', default: 'sluice-minimal' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const quick = opt.quick;
const settings = {
  rounds: quick ? 1 : Number(opt.rounds),
  closedSeconds: quick ? 2 : Number(opt.seconds),
  openSeconds: quick ? 2 : Number(opt['open-seconds']),
  openRates: opt.rate.split(',').map((r) => Number(r.trim())),
  openRate: Number(opt.rate.split(',')[0]),
  closedConnections: Number(opt.connections),
  generator: opt.generator ?? (hasCommand('wrk') ? 'wrk' : 'sluice'),
  nginxWorkers: Number(opt['nginx-workers']),
  warmupSeconds: quick ? 1 : 2,
  closedWarmupSeconds: quick ? 1 : 2,
  // The profile is of one Sluice target of the model scenario (sluice-minimal unless --profile-target).
  profile: !quick && !opt['no-profile'] && opt.scenario === 'model' ? opt['profile-target'] : null,
  scenario: opt.scenario,
  targets: opt.targets === undefined ? null : opt.targets.split(',').map((t) => t.trim()).filter((t) => t !== ''),
};
/** Whether --targets (when given) names this target; direct always runs. */
const wanted = (name) => name === 'direct' || settings.targets === null || settings.targets.includes(name);
// The several-worker targets (issue 19, server.workers: 2) run only when named in --targets.
const named = (name) => settings.targets !== null && settings.targets.includes(name);
if (!['model', 'http'].includes(settings.scenario)) throw new Error(`--scenario: model or http, got ${settings.scenario}`);
if (settings.openRates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error(`--rate: positive numbers, got ${opt.rate}`);
if (!['wrk', 'sluice'].includes(settings.generator)) throw new Error(`--generator: wrk or sluice, got ${settings.generator}`);
if (settings.generator === 'wrk' && !hasCommand('wrk')) throw new Error('--generator wrk: wrk is not installed (apt-get install wrk)');

const dist = await loadDist();
for (const url of opt.extra) {
  try {
    dist.plan.buildPlan({ rate: '1', requests: '1' }, [url]); // the loopback check, before anything starts
  } catch (err) {
    process.stderr.write(`bench/compare: --extra ${url}: ${err.message.replace(/ Pass --allow-remote.*$/, ' bench/compare measures on this machine only.')}\n`);
    process.exit(2);
  }
}
const log = (msg) => process.stderr.write(`${msg}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'sluice-compare-'));
const children = [];
const startedAt = new Date();
const minimalPath = join(tmp, 'sluice-minimal.yaml');
// Event-loop delay of the Node processes under test, read around each open-loop run.
const eldDir = join(tmp, 'eld');
mkdirSync(eldDir);
const ELD = { nodeArgs: ['--import', pathToFileURL(join(ROOT, 'bench/eld-preload.mjs')).href], env: { SLUICE_BENCH_ELD_DIR: eldDir } };

/** Asks a process with the preload for its event-loop delay since the last ask (and resets it). */
async function readEld(pid) {
  const file = join(eldDir, `eld-${pid}.json`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      await sleep(10);
    }
  }
  return null;
}

/** A sluice bench plan for a target (the same request body wrk sends). */
function planFor(url, args) {
  return dist.plan.buildPlan({ timeout: '10s', grace: '5s', ...args }, [url]).plan;
}

function sluiceConfig(mockUrl, extra = {}) {
  // JSON is YAML. Logging at warn: nginx runs with access_log off, so neither logs requests.
  return {
    server: { host: '127.0.0.1' },
    logging: { level: 'warn' },
    // Usage accounting (on by default) needs a database and spool folder per process; the
    // full pipeline turns it on with its own folders. Its cost: bench/results/*-usage-writer.md.
    usage: { enabled: false },
    providers: { mock: { type: 'openai', baseUrl: mockUrl, connections: 256 } },
    routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
    ...extra,
  };
}

async function startNginx(mocks) {
  const port = await freePort();
  const dir = join(tmp, 'nginx');
  mkdirSync(dir, { mode: 0o755 });
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { mode: 0o777 });
  const conf = `daemon off;
worker_processes ${settings.nginxWorkers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mock {
${mocks.map((m) => `    server ${new URL(m.origin).host};`).join('\n')}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const nginx = startChild('nginx', 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  nginx.origin = `http://127.0.0.1:${port}`;
  nginx.url = `${nginx.origin}/v1`;
  await waitHttp(`${nginx.origin}/health`);
  return nginx;
}

async function startHaproxy(mocks) {
  const port = await freePort();
  const conf = join(tmp, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  http-reuse always
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  balance roundrobin
${mocks.map((m, i) => `  server s${i} ${new URL(m.origin).host}`).join('\n')}
`,
  );
  const h = startChild('haproxy', 'haproxy', ['-db', '-f', conf]);
  h.origin = `http://127.0.0.1:${port}`;
  h.url = `${h.origin}/v1`;
  await waitHttp(`${h.origin}/health`);
  return h;
}

/** Node's floor: bench/bare.mjs forwarding to an origin, or answering a file's bytes. */
async function startBare(name, mode, arg) {
  const b = startChild(name, process.execPath, [...ELD.nodeArgs, join(ROOT, 'bench/bare.mjs'), mode, arg], { env: ELD.env });
  const [, origin] = await b.waitFor(/bare listening on (\S+)/);
  b.origin = origin;
  b.url = `${origin}/v1`;
  return b;
}

/** Closed loop with wrk: req/s and wrk's own latency percentiles (which hide queueing). */
async function wrkRun(target, seconds) {
  const plan = planFor(target.url, { rate: '1', requests: '1', header: target.headers });
  const lua = join(tmp, `${target.name}.lua`);
  const headers = Object.entries(plan.template.headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  writeFileSync(lua, `wrk.method = "POST"\nwrk.body = [==[${plan.template.body}]==]\n${headers}\n`);
  const w = startChild('wrk', 'wrk', ['-t1', `-c${settings.closedConnections}`, `-d${seconds}s`, '--latency', '-s', lua, `${plan.target.origin}${plan.target.path}`]);
  const { code } = await w.exit;
  const out = w.output();
  if (code !== 0) throw new Error(`wrk failed (${code}):\n${out}`);
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : null;
  };
  const ms = (re) => {
    const m = re.exec(out);
    if (!m) return null;
    const v = Number(m[1]);
    return round(m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v, 3);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (num(/Non-2xx or 3xx responses: (\d+)/) ?? 0) + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { generator: 'wrk', rps: num(/Requests\/sec:\s+([\d.]+)/), requests: num(/(\d+) requests in/), p50: ms(/50%\s+([\d.]+)(us|ms|s)/), p99: ms(/99%\s+([\d.]+)(us|ms|s)/), p999: null, errors };
}

function closedRun(target, seconds) {
  return settings.generator === 'wrk' ? wrkRun(target, seconds) : sluiceClosedRun(target, seconds);
}

/** Closed loop with sluice bench (when wrk is not there). */
async function sluiceClosedRun(target, seconds) {
  const plan = planFor(target.url, { concurrency: String(settings.closedConnections), duration: `${seconds}s`, header: target.headers });
  const client = dist.runner.newClient(plan);
  await dist.runner.runBench(dist.runner.warmupPlan(plan, 500), { client });
  const run = await dist.runner.runBench(plan, { client });
  await client.close();
  const r = dist.result.buildResult(run);
  return { generator: 'sluice bench', rps: r.rates.ok, requests: r.counts.ok, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p999, errors: r.counts.errors };
}

/**
 * One open loop at `rate`: latency from the scheduled start (the histogram is kept to merge
 * rounds), and the target's CPU per request over it (process and children, from /proc, with
 * what the load left behind). Every target measured at the same rate does the same work per
 * second, so this ratio does not favour the target that batches more requests per wake-up
 * when saturated, as the closed loop's can.
 */
async function openRun(target, seconds, rate) {
  const plan = planFor(target.url, { rate: String(rate), duration: `${seconds}s`, header: target.headers });
  const client = dist.runner.newClient(plan);
  await dist.runner.runBench(dist.runner.warmupPlan(plan, 1000), { client });
  const cpu0 = target.proc ? treeCpu(target.proc.pid) : null;
  const run = await dist.runner.runBench(plan, { client });
  await client.close();
  if (target.proc) await waitQuiet([target.proc.pid]);
  const cpu1 = target.proc ? treeCpu(target.proc.pid) : null;
  const r = dist.result.buildResult(run);
  const served = r.counts.ok + r.counts.errors;
  const cpuUsPerReq = cpu0 !== null && cpu1 !== null && served > 0 ? round(((cpu1 - cpu0) * 1e6) / CLOCK_TICKS / served, 1) : null;
  return { summary: { rate: r.rates.ok, ok: r.counts.ok, errors: r.counts.errors, errorKinds: r.errors, ...pick(r.latency), startLagP99: r.startLag?.p99 ?? null, cpuUsPerReq }, histogram: run.recorder.latency };
}

function pick(s) {
  return { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max };
}

async function warm(target) {
  const plan = planFor(target.url, { concurrency: '16', duration: `${settings.warmupSeconds}s`, header: target.headers });
  await dist.runner.runBench(plan);
}

/** Starts the target again on its own config under node --cpu-prof and profiles it under the closed loop. */
async function profileSluice(profiled) {
  const dir = join(tmp, 'prof');
  mkdirSync(dir);
  // Its own folders (spool, data) are the profiled copy's now: the rounds are over.
  await profiled.proc?.stop('SIGTERM');
  const s = await startSluice('sluice-profiled', profiled.config, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  children.push(s);
  const target = { name: 'sluice-profiled', url: s.url, headers: profiled.headers ?? [] };
  await warm(target);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const closed = settings.generator === 'wrk' ? await wrkRun(target, settings.closedSeconds) : await sluiceClosedRun(target, settings.closedSeconds);
  const toUs = Number(process.hrtime.bigint() / 1000n);
  await s.stop('SIGTERM');
  // The main thread's (thread id 0): worker threads (the embedded database's) write their own.
  const file = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (!file) return { error: 'no profile written' };
  // Only the samples taken during the measured closed loop (not start-up, warm-up or exit).
  return { target: profiled.name, rpsWhileProfiled: closed.rps, ...summarizeProfile(join(dir, file), 15, { fromUs, toUs }) };
}

/**
 * The model scenario's Sluice targets: the minimal pipeline, the fuller one, the same request
 * as an HTTP service, and cache hits.
 */
async function addModelTargets(targets, mock) {
  writeFileSync(minimalPath, JSON.stringify(sluiceConfig(mock.url), null, 2));
  if (wanted('sluice-minimal')) {
    const minimal = await startSluice('sluice-minimal', minimalPath, ELD);
    children.push(minimal);
    targets.push({ name: 'sluice-minimal', config: minimalPath, url: minimal.url, what: 'Sluice, route * to an openai-type provider pointing at the mock, logging.level warn', proc: minimal, eld: true });
  }
  if (wanted('sluice-default')) {
    // What `sluice start` does with no config beyond the provider: usage accounting on into
    // embedded SQLite on disk, the spool on disk, one JSON log line per request (info).
    const path = join(tmp, 'sluice-default.yaml');
    const config = {
      server: { host: '127.0.0.1' },
      providers: { mock: { type: 'openai', baseUrl: mock.url, connections: 256 } },
      routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
      database: { dataDir: join(tmp, 'default-data') },
      usage: { spoolDir: join(tmp, 'default-spool') },
    };
    writeFileSync(path, JSON.stringify(config, null, 2));
    const s = await startSluice('sluice-default', path, ELD);
    children.push(s);
    targets.push({ name: 'sluice-default', config: path, url: s.url, what: 'Sluice with its defaults beside the provider and route: usage accounting on (spool and embedded SQLite on disk), logging at info (one JSON line per request, to a pipe the benchmark reads)', proc: s, eld: true });
  }
  if (wanted('sluice-full')) await addFullTarget(targets, mock);
  if (named('sluice-minimal-w2')) {
    const path = join(tmp, 'sluice-minimal-w2.yaml');
    writeFileSync(path, JSON.stringify(sluiceConfig(mock.url, { server: { host: '127.0.0.1', workers: 2 } }), null, 2));
    const s = await startSluice('sluice-minimal-w2', path);
    children.push(s);
    targets.push({ name: 'sluice-minimal-w2', config: path, url: s.url, what: 'sluice-minimal with server.workers: 2 (a primary and two workers; CPU counts all three)', proc: s });
  }
  if (named('sluice-full-w2')) await addFullTarget(targets, mock, 2);
  if (wanted('sluice-service')) {
    const path = join(tmp, 'sluice-service.yaml');
    writeFileSync(path, JSON.stringify(serviceConfig([mock.origin]), null, 2));
    const s = await startSluice('sluice-service', path, ELD);
    children.push(s);
    targets.push({ name: 'sluice-service', config: path, url: s.url, what: 'Sluice, one HTTP service (services[]) claiming /v1/chat/completions with the mock as its one instance: the same request forwarded as plain HTTP, no auth, limits or cache; logging.level warn', proc: s, eld: true });
  }
  if (wanted('sluice-cache-hit')) {
    const path = join(tmp, 'sluice-cache-hit.yaml');
    writeFileSync(path, JSON.stringify(sluiceConfig(mock.url, CACHE_HIT_CONFIG), null, 2));
    const s = await startSluice('sluice-cache-hit', path, ELD);
    children.push(s);
    const answer = await expectCacheHit(s.url);
    targets.push({ name: 'sluice-cache-hit', config: path, url: s.url, what: 'Sluice, minimal pipeline plus the response cache on the route (ttl 1h, anyTemperature, in-memory): the same body every time, so all but the first request are answered from the cache without going upstream; logging.level warn', proc: s, eld: true });
    // Node's floors for a cache hit answer the very bytes sluice-cache-hit serves.
    const file = join(tmp, 'cached-answer.json');
    writeFileSync(file, answer);
    if (!opt['no-bare'] && wanted('bare-answer')) {
      const b = await startBare('bare-answer', 'answer', file);
      children.push(b);
      targets.push({ name: 'bare-answer', url: b.url, what: `Node's floor for a cache hit: a bare node:http server (bench/bare.mjs answer) reading the request body and answering the same ${answer.length} bytes sluice-cache-hit serves`, proc: b, eld: true });
    }
    if (!opt['no-bare'] && wanted('bare-answer-json')) {
      const b = await startBare('bare-answer-json', 'answer-json', file);
      children.push(b);
      targets.push({ name: 'bare-answer-json', url: b.url, what: `bare-answer with the least a JSON API must do (bench/bare.mjs answer-json): the body read as text and parsed (secure-json-parse), a request id, the answer written with its length and content type`, proc: b, eld: true });
    }
  }
}

/** The cache-hit target must answer the benchmark's request from its cache: checked once, before any round. */
async function expectCacheHit(url) {
  const { template, target } = planFor(url, { rate: '1', requests: '1' });
  const verdicts = [];
  let body = null;
  for (let i = 0; i < 2; i++) {
    const res = await request(`${target.origin}${target.path}`, { method: 'POST', headers: template.headers, body: template.body });
    body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`sluice-cache-hit: HTTP ${res.statusCode}`);
    verdicts.push(res.headers['x-sluice-cache']);
  }
  if (verdicts[1] !== 'hit') throw new Error(`sluice-cache-hit: the repeated request was not a cache hit (x-sluice-cache: ${verdicts.join(', ')})`);
  return body;
}

async function addFullTarget(targets, mock, workers = 1) {
  const name = workers === 1 ? 'sluice-full' : `sluice-full-w${workers}`;
  const fullPath = join(tmp, `${name}.yaml`);
  const server = { host: '127.0.0.1', workers };
  writeFileSync(fullPath, JSON.stringify(sluiceConfig(mock.url, { ...FULL_PIPELINE_CONFIG, server, usage: { enabled: true, spoolDir: join(tmp, `spool-${name}`) } }), null, 2));
  const full = await startSluice(name, fullPath, workers === 1 ? ELD : {});
  children.push(full);
  targets.push({
    eld: workers === 1,
    name,
    config: fullPath,
    url: full.url,
    what: `Sluice, full pipeline: key auth, rate and token limits (in-memory store), response cache on the route (the client sends Cache-Control: no-cache, so every request computes its key, goes upstream and stores the answer), usage accounting (spool, in-memory SQLite), logging.level warn${workers === 1 ? '' : `; server.workers: ${workers} (the primary holds the store, cache and SQLite; CPU counts all processes)`}`,
    headers: Object.entries(FULL_PIPELINE_HEADERS).map(([k, v]) => `${k}: ${v}`),
    proc: full,
  });
}

/**
 * The HTTP-route scenario's Sluice target: a service claiming the mock's chat path (a service
 * takes one of Sluice's own paths only when it names it) with both instances, round robin.
 * The request is the same POST, forwarded as plain HTTP with its body streamed.
 */
async function addHttpTargets(targets, mocks) {
  const path = join(tmp, 'sluice-http.yaml');
  writeFileSync(path, JSON.stringify(serviceConfig(mocks.map((m) => m.origin)), null, 2));
  const s = await startSluice('sluice-http', path);
  children.push(s);
  targets.push({ name: 'sluice-http', config: path, url: s.url, what: 'Sluice, one HTTP service (services[]) claiming /v1/chat/completions with the two mock instances, round robin; compression on (the mock answers are below minSize); logging.level warn', proc: s });
  // For reference in the same run: the model path (JSON parsed, routed, re-serialised) to the first instance.
  writeFileSync(minimalPath, JSON.stringify(sluiceConfig(mocks[0].url), null, 2));
  const model = await startSluice('sluice-minimal', minimalPath);
  children.push(model);
  targets.push({ name: 'sluice-minimal', url: model.url, what: 'for reference: Sluice as a model gateway, route * to an openai-type provider pointing at the first mock instance, logging.level warn', proc: model });
}

try {
  const machine = describeMachine();
  log(`bench/compare: ${machine.cores} cores (${machine.cpuModel}), node ${machine.node}, nginx ${machine.nginx ?? 'not installed'}, generator ${settings.generator}`);
  const http = settings.scenario === 'http';
  const mocks = http ? await Promise.all([startMock(), startMock()]) : [await startMock()];
  children.push(...mocks);
  const mock = mocks[0];
  const targets = [{ name: 'direct', url: mock.url, what: http ? 'the first of the two mock instances, no proxy' : 'the mock upstream itself, no proxy' }];
  if (!opt['no-nginx'] && wanted('nginx') && hasCommand('nginx')) {
    const nginx = await startNginx(mocks);
    children.push(nginx);
    const to = http ? 'an upstream of the two mock instances (round robin)' : 'the mock';
    targets.push({ name: 'nginx', url: nginx.url, what: `nginx ${machine.nginx}, proxy_pass to ${to}, upstream keepalive 128, worker_processes ${settings.nginxWorkers}, access_log off`, proc: nginx });
  } else log('nginx: skipped (not installed or --no-nginx); ratios to nginx are not computed');
  if (!opt['no-haproxy'] && wanted('haproxy') && hasCommand('haproxy')) {
    const h = await startHaproxy(mocks);
    children.push(h);
    targets.push({ name: 'haproxy', url: h.url, what: `haproxy ${machine.haproxy}, mode http, nbthread 1, http-reuse always, to ${http ? 'the two mock instances (round robin)' : 'the mock'}, no logging`, proc: h });
  }
  if (!opt['no-bare'] && wanted('bare-forward')) {
    const b = await startBare('bare-forward', 'forward', mock.origin);
    children.push(b);
    targets.push({ name: 'bare-forward', url: b.url, what: "Node's floor for a proxy: a bare node:http server (bench/bare.mjs forward) streaming each request to the mock through an undici Pool (128 connections) and the answer back; no parsing, no routing", proc: b, eld: true });
  }
  if (!opt['no-bare'] && !http && wanted('bare-forward-json')) {
    const b = await startBare('bare-forward-json', 'forward-json', mock.origin);
    children.push(b);
    targets.push({ name: 'bare-forward-json', url: b.url, what: 'bare-forward with the least a JSON API gateway must do (bench/bare.mjs forward-json): the body read as text and parsed (secure-json-parse), a request id sent upstream and back, the answer read as text and written with its length and content type; no routing, policies, metrics or validation', proc: b, eld: true });
  }
  if (http) await addHttpTargets(targets, mocks);
  else await addModelTargets(targets, mock);
  opt.extra.forEach((url, i) => targets.push({ name: `extra-${i + 1}`, url, what: `--extra ${url}` }));

  for (const t of targets) {
    log(`warm-up ${t.name} (${settings.warmupSeconds}s)`);
    await warm(t);
  }

  const ours = () => [process.pid, ...children.map((c) => c.pid)];
  const share = cpuShare(ours);
  const rounds = [];
  // One merged histogram per target and open-loop rate.
  const merged = new Map(targets.flatMap((t) => settings.openRates.map((rate) => [`${t.name}@${rate}`, dist.histogram.createHistogram()])));
  for (let r = 0; r < settings.rounds; r++) {
    // Rotate the order each round so no target always runs first (or right after a heavy one).
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) {
      log(`round ${r + 1}/${settings.rounds} ${t.name}: closed loop ${settings.closedSeconds}s (${settings.generator}), open loop ${settings.openRates.join(' and ')}/s ${settings.openSeconds}s`);
      // Every process under test idle first: the full pipeline's usage backlog, shipped into
      // its database after a load, would otherwise run during the next target's round.
      const settled = await waitQuiet(children.map((c) => c.pid));
      if (settled === null) log('  (the processes under test did not go idle within 60 s; measuring anyway)');
      // A short unmeasured closed loop first: a process left idle while other targets ran has
      // had its heap shrunk by V8 (and nginx's has not), so its first seconds are GC-heavy.
      await closedRun(t, settings.closedWarmupSeconds);
      // The proxy's own CPU per request (process and children, from /proc) and the hypervisor's
      // steal during the closed loop: throughput moves with steal, CPU per request less so.
      const cpu0 = t.proc ? treeCpu(t.proc.pid) : null;
      const machine0 = cpuTimes();
      const closed = await closedRun(t, settings.closedSeconds);
      const machine1 = cpuTimes();
      // Work the load left behind (usage records still to store) is part of its cost.
      if (t.proc) await waitQuiet([t.proc.pid]);
      const cpu1 = t.proc ? treeCpu(t.proc.pid) : null;
      closed.cpuUsPerReq = cpu0 !== null && cpu1 !== null && closed.requests > 0 ? round(((cpu1 - cpu0) * 1e6) / CLOCK_TICKS / closed.requests, 1) : null;
      closed.stealPct = machine0 && machine1 ? round((100 * (machine1.steal - machine0.steal)) / (machine1.total - machine0.total), 1) : null;
      const opens = {};
      for (const rate of settings.openRates) {
        await waitQuiet(children.map((c) => c.pid));
        if (t.eld) await readEld(t.proc.pid); // starts its event-loop delay histogram over
        const open = await openRun(t, settings.openSeconds, rate);
        // The event-loop delay over the open loop (its warm-up included: a second more).
        open.summary.eld = t.eld ? await readEld(t.proc.pid) : null;
        merged.get(`${t.name}@${rate}`).add(open.histogram);
        opens[rate] = open.summary;
        log(`  open ${rate}/s: p50 ${open.summary.p50} ms p99 ${open.summary.p99} ms p99.9 ${open.summary.p999} ms, ${open.summary.errors} errors${open.summary.cpuUsPerReq === null ? '' : `, ${open.summary.cpuUsPerReq} µs CPU/req`}${open.summary.eld ? `; event-loop delay p99 ${open.summary.eld.p99} ms, max ${open.summary.eld.max} ms` : ''}`);
      }
      rounds.push({ round: r + 1, target: t.name, closed, open: opens[settings.openRate], opens, rssMb: t.proc ? round((rssBytes(t.proc.pid) ?? 0) / 1048576, 1) : null });
      log(`  ${Math.round(closed.rps)} req/s closed${closed.cpuUsPerReq === null ? '' : ` (${closed.cpuUsPerReq} µs CPU/req)`}, steal ${closed.stealPct}%`);
    }
  }
  const cpu = share();
  const profiled = settings.profile === null ? undefined : targets.find((t) => t.name === settings.profile && t.config !== undefined);
  if (settings.profile !== null && profiled === undefined) log(`no profile: ${settings.profile} is not a Sluice target of this run`);
  const profile = profiled === undefined ? null : await profileSluice(profiled);

  const mean = (xs) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const summary = targets.map((t) => {
    const mine = rounds.filter((x) => x.target === t.name);
    const rps = mean(mine.map((x) => x.closed.rps));
    const s = dist.histogram.summarize(merged.get(`${t.name}@${settings.openRate}`));
    // Per rate: the merged latency, and the worst round's event-loop delay percentiles.
    const byRate = Object.fromEntries(
      settings.openRates.map((rate) => {
        const h = dist.histogram.summarize(merged.get(`${t.name}@${rate}`));
        const elds = mine.map((x) => x.opens[rate].eld).filter(Boolean);
        const worst = (k) => (elds.length === 0 ? null : Math.max(...elds.map((e) => e[k])));
        const cpus = mine.map((x) => x.opens[rate].cpuUsPerReq ?? null);
        const cpuUsPerReq = cpus.length > 0 && cpus.every((c) => c !== null) ? round(mean(cpus), 1) : null;
        return [rate, { achieved: round(mean(mine.map((x) => x.opens[rate].rate)), 1), requests: h.count, ...pick(h), errors: mine.reduce((a, x) => a + x.opens[rate].errors, 0), cpuUsPerReq, cpuUsPerReqPerRound: cpus, eld: elds.length === 0 ? null : { p50: worst('p50'), p99: worst('p99'), p999: worst('p999'), max: worst('max') } }];
      }),
    );
    return {
      openByRate: byRate,
      target: t.name,
      url: t.url,
      what: t.what,
      closed: {
        rpsPerRound: mine.map((x) => round(x.closed.rps, 0)),
        rps: round(rps, 0),
        p99PerRound: mine.map((x) => x.closed.p99),
        errors: mine.reduce((a, x) => a + x.closed.errors, 0),
        cpuUsPerReqPerRound: mine.map((x) => x.closed.cpuUsPerReq),
        cpuUsPerReq: mine.every((x) => x.closed.cpuUsPerReq !== null) ? round(mean(mine.map((x) => x.closed.cpuUsPerReq)), 1) : null,
        stealPctPerRound: mine.map((x) => x.closed.stealPct),
      },
      open: { rate: settings.openRate, achieved: round(mean(mine.map((x) => x.open.rate)), 1), requests: s.count, ...pick(s), errors: mine.reduce((a, x) => a + x.open.errors, 0) },
      rssMb: mine.at(-1)?.rssMb ?? null,
    };
  });
  const by = Object.fromEntries(summary.map((s) => [s.target, s]));
  for (const s of summary) {
    s.closed.xDirect = by.direct ? round(s.closed.rps / by.direct.closed.rps, 3) : null;
    s.closed.xNginx = by.nginx ? round(s.closed.rps / by.nginx.closed.rps, 3) : null;
    // Per-round ratios too: each round's pair ran minutes apart at most, under the same conditions.
    // nginx's CPU per request over this target's: the throughput ratio if each had a core to itself.
    s.closed.cpuXNginx = by.nginx?.closed.cpuUsPerReq && s.closed.cpuUsPerReq ? round(by.nginx.closed.cpuUsPerReq / s.closed.cpuUsPerReq, 3) : null;
    s.closed.xNginxPerRound = by.nginx ? s.closed.rpsPerRound.map((v, i) => round(v / by.nginx.closed.rpsPerRound[i], 3)) : null;
    s.open.addedP50VsDirect = round(s.open.p50 - by.direct.open.p50, 3);
    s.open.addedP99VsDirect = round(s.open.p99 - by.direct.open.p99, 3);
    s.open.addedP999VsDirect = round(s.open.p999 - by.direct.open.p999, 3);
    s.open.addedP99VsNginx = by.nginx ? round(s.open.p99 - by.nginx.open.p99, 3) : null;
    s.open.addedP999VsNginx = by.nginx ? round(s.open.p999 - by.nginx.open.p999, 3) : null;
    // Issue 19's floor: CPU per request over Node's own (a bare forwarder; a bare answer for hits).
    const floor = s.target === 'sluice-cache-hit' ? by['bare-answer'] : by['bare-forward'];
    s.closed.cpuXFloor = s.target.startsWith('sluice-') && floor?.closed.cpuUsPerReq && s.closed.cpuUsPerReq ? round(s.closed.cpuUsPerReq / floor.closed.cpuUsPerReq, 3) : null;
    // And at each open-loop rate, where the target and its floor did the same work per second.
    // And over the JSON floor (the same with the least a JSON API must do): Sluice's own share.
    const jsonFloor = s.target === 'sluice-cache-hit' ? by['bare-answer-json'] : by['bare-forward-json'];
    s.closed.cpuXJsonFloor = s.target.startsWith('sluice-') && jsonFloor?.closed.cpuUsPerReq && s.closed.cpuUsPerReq ? round(s.closed.cpuUsPerReq / jsonFloor.closed.cpuUsPerReq, 3) : null;
    for (const [rate, o] of Object.entries(s.openByRate)) {
      const f = floor?.openByRate[rate];
      o.cpuXFloor = s.target.startsWith('sluice-') && f?.cpuUsPerReq && o.cpuUsPerReq ? round(o.cpuUsPerReq / f.cpuUsPerReq, 3) : null;
      const j = jsonFloor?.openByRate[rate];
      o.cpuXJsonFloor = s.target.startsWith('sluice-') && j?.cpuUsPerReq && o.cpuUsPerReq ? round(o.cpuUsPerReq / j.cpuUsPerReq, 3) : null;
    }
    // Per round as well: on a shared machine one disturbed round can dominate the merged tail.
    s.open.addedP99VsDirectPerRound = rounds.filter((x) => x.target === s.target).map((x) => round(x.open.p99 - rounds.find((d) => d.target === 'direct' && d.round === x.round).open.p99, 3));
  }

  const notes = [
    `All processes shared the same ${machine.cores} cores without pinning: the load generator (${settings.generator === 'wrk' ? 'wrk for the closed loop; sluice bench, in the compare process, for the open loop' : 'sluice bench in the compare process'}), the mock upstream (one Node process), and the proxy under test.`,
    cpu ? `During the rounds the machine was ${cpu.machineBusyPct}% busy: ${cpu.oursPct}% this benchmark's processes, ${cpu.othersPct}% other processes (other work on the same machine), and ${cpu.stealPct}% of the CPU time was stolen by the hypervisor (a virtual machine's CPU steal: the cores were not ours for that long). Numbers from a shared machine move between runs; ratios within one run are what hold.` : 'CPU share not measured.',
    http
      ? 'HTTP-route scenario: nginx and sluice-http each balance the same two mock instances round robin; direct is the first instance alone. The Sluice service has no limits, auth or cache (the plain forwarding path).'
      : 'sluice-full: key auth, limits, the cache miss path (Cache-Control: no-cache from the client) and usage accounting, all on in-memory stores. sluice-service: the same POST forwarded by an HTTP service (services[]) to the same mock, the plain forwarding path (issue 17: it should cost no more CPU per request than sluice-minimal). sluice-cache-hit: every request but the first answered from the in-memory response cache.',
    'Request: POST /v1/chat/completions, JSON, {"messages":[{"role":"user","content":"Say hello."}],"model":"mock-1"}; the mock answers at once (no latency knob), 8-40 words.',
    `Open loop: sluice bench at ${settings.openRates.join(' and ')} req/s, latency from each request's scheduled start (queueing and generator lateness included, the same for every target); 1 s warm-up on the same connections first. Closed loop: ${settings.generator === 'wrk' ? `wrk -t1 -c${settings.closedConnections}` : `sluice bench --concurrency ${settings.closedConnections}`}; its latency hides queueing and is shown for reference only.`,
    'Access logs off on both sides: nginx access_log off, haproxy without a log line, Sluice logging.level warn (one JSON log line per request at the default info level costs extra) except sluice-default, which keeps info.',
    "Event-loop delay: each Node process measured (Sluice with one worker, the bare references) runs bench/eld-preload.mjs (perf_hooks.monitorEventLoopDelay, sampled every 5 ms; the figures are how late that timer fired), read over each open loop and its one-second warm-up; the worst round's percentiles are shown.",
  ];
  const result = { kind: 'sluice bench/compare', date: startedAt.toISOString(), durationS: round((Date.now() - startedAt.getTime()) / 1000, 1), command: `node bench/compare.mjs ${process.argv.slice(2).join(' ')}`.trim(), machine, settings, notes, targets: targets.map(({ name, url, what }) => ({ name, url, what })), summary, rounds, cpu, profile };

  process.stdout.write(`\n${formatTable(result)}\n`);
  if (!quick) {
    mkdirSync(opt.out, { recursive: true });
    const base = join(opt.out, `${isoDate(startedAt)}-compare${http ? '-http' : ''}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${base}.md`, formatMarkdown(result));
    log(`wrote ${base}.json and ${base}.md`);
  }
} finally {
  for (const c of children.reverse()) await c.stop('SIGTERM').catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
