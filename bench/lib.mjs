// Shared helpers of the benchmark scripts (bench/compare.mjs, bench/streams.mjs): start and
// stop the processes under test, wait for them, and describe the machine they ran on.
// Everything binds to and talks to loopback only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { request } from 'undici';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const MAIN = join(ROOT, 'dist/src/cli/main.js');

/** The compiled modules; the scripts run on the build (npx tsc -p tsconfig.json). */
export async function loadDist() {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json)`);
  return {
    runner: await import(join(ROOT, 'dist/src/bench/runner.js')),
    plan: await import(join(ROOT, 'dist/src/bench/plan.js')),
    histogram: await import(join(ROOT, 'dist/src/bench/histogram.js')),
    result: await import(join(ROOT, 'dist/src/bench/result.js')),
  };
}

/** A free loopback port (bound then released; the race with other processes is accepted). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts a child process; its output is kept (last 64 kB) for error messages. `ready` is a
 * regexp on stdout whose first group is the URL the child announces, if any.
 */
export function startChild(name, command, args, { env, cwd } = {}) {
  const child = spawn(command, args, { cwd: cwd ?? ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-65536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((ok) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      ok(exited);
    }),
  );
  return {
    name,
    child,
    pid: child.pid,
    exit,
    output: () => output,
    get exited() {
      return exited;
    },
    /** Resolves with the first match of `re` on the output, or rejects after `ms`. */
    async waitFor(re, ms = 15_000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const m = re.exec(output);
        if (m) return m;
        if (exited) throw new Error(`${name} exited (${JSON.stringify(exited)}) before it was ready:\n${output}`);
        await sleep(20);
      }
      throw new Error(`${name} not ready after ${ms} ms:\n${output}`);
    },
    /** SIGTERM (or `signal`) to this child only, then SIGKILL if it lingers. */
    async stop(signal = 'SIGTERM', ms = 10_000) {
      if (exited) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const r = await exit;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Polls GET url until it answers 200. */
export async function waitHttp(url, ms = 15_000) {
  const until = Date.now() + ms;
  let last = null;
  while (Date.now() < until) {
    try {
      const res = await request(url);
      await res.body.dump();
      if (res.statusCode === 200) return;
      last = `HTTP ${res.statusCode}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(50);
  }
  throw new Error(`${url} not ready after ${ms} ms (${last})`);
}

/** The standalone mock upstream as a child process; resolves when it listens. */
export async function startMock(mockArgs = [], extra = {}) {
  const mock = startChild('mock', process.execPath, [MAIN, 'mock', '--port', '0', ...mockArgs], extra);
  const [, url] = await mock.waitFor(/sluice mock listening on (\S+)/);
  mock.url = url; // ends in /v1
  mock.origin = new URL(url).origin;
  return mock;
}

/** Sluice as a child process on a chosen port, from a config object (written as YAML-compatible JSON). */
export async function startSluice(name, configPath, { nodeArgs = [], env } = {}) {
  const port = await freePort();
  const s = startChild(name, process.execPath, [...nodeArgs, MAIN, 'start', '--config', configPath, '--port', String(port)], { env });
  s.origin = `http://127.0.0.1:${port}`;
  s.url = `${s.origin}/v1`;
  const died = s.exit.then((e) => {
    throw new Error(`${name} exited (${JSON.stringify(e)}) before it was ready:\n${s.output()}`);
  });
  // A gateway with usage accounting creates its embedded database first: allow for it.
  await Promise.race([waitHttp(`${s.origin}/ready`, 60_000), died]);
  died.catch(() => undefined); // a later exit is stop()'s business
  return s;
}

/** Resident memory of a process in bytes, from /proc/<pid>/status (VmRSS), or null. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process, or null. */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The soft and hard open-file limits of this process. */
export function fdLimits() {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    const n = (v) => (v === 'unlimited' ? Infinity : Number(v));
    return m ? { soft: n(m[1]), hard: n(m[2]) } : null;
  } catch {
    return null;
  }
}

/** Total CPU jiffies busy and overall, from /proc/stat, to tell how busy the machine was. */
export function cpuTimes() {
  try {
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    // Steal: time a virtual machine's CPUs were runnable but the hypervisor ran something else.
    const steal = f[7] ?? 0;
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle - steal, steal, total };
  } catch {
    return null;
  }
}

/** CPU jiffies (user + system) used by one process and its waited-for children so far. */
export function procCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the name: utime is the 12th, stime 13th, cutime 14th, cstime 15th (0-based 11…14).
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return null;
  }
}

/** CPU jiffies of a process and its direct children (nginx: the master and its workers). */
export function treeCpu(pid) {
  const own = procCpu(pid);
  if (own === null) return null;
  let sum = own;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // ppid is the second field after the name.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) sum += procCpu(Number(entry)) ?? 0;
    } catch {
      // The process ended while listed.
    }
  }
  return sum;
}

/**
 * Waits until the processes are idle: less than `maxBusyPct` of one core, together, over a
 * `windowMs` window (work left over from a load, such as a usage backlog shipped into the
 * database, must not land in another target's measurement). Gives up after `timeoutMs`;
 * resolves with the milliseconds waited, or null when it gave up.
 */
export async function waitQuiet(pids, { windowMs = 500, maxBusyPct = 5, timeoutMs = 60_000 } = {}) {
  const started = Date.now();
  const total = () => pids.reduce((a, pid) => a + (treeCpu(pid) ?? 0), 0);
  let before = total();
  while (Date.now() - started < timeoutMs) {
    await sleep(windowMs);
    const now = total();
    if (((now - before) / CLOCK_TICKS) * 1000 <= (windowMs * maxBusyPct) / 100) return Date.now() - started;
    before = now;
  }
  return null;
}

/** Clock ticks per second (the unit of /proc CPU times). */
export const CLOCK_TICKS = (() => {
  try {
    const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

function versionOf(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error) return null;
    return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
  } catch {
    return null;
  }
}

export function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** What the results ran on: cores, CPU model, memory, kernel, versions, git state. */
export function describeMachine() {
  let model = null;
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? null;
  } catch {
    // not Linux
  }
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return {
    cores: cpus().length,
    cpuModel: model ?? cpus()[0]?.model ?? null,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    nginx: hasCommand('nginx') ? (versionOf('nginx', ['-v'])?.replace(/^nginx version: nginx\//, '') ?? null) : null,
    haproxy: hasCommand('haproxy') ? (/version (\S+)/.exec(versionOf('haproxy', ['-v']) ?? '')?.[1] ?? null) : null,
    wrk: hasCommand('wrk') ? (versionOf('wrk', ['-v'])?.split(' [')[0].replace(/^wrk /, '') ?? null) : null,
    commit: git.status === 0 ? git.stdout.trim() : null,
    uncommittedChanges: dirty.status === 0 ? dirty.stdout.trim().split('\n').filter(Boolean).length : null,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/**
 * Tracks how much of the machine's CPU went to processes other than ours over a span, so the
 * results can say what shared the cores. `ours()` lists the pids to count as ours.
 */
export function cpuShare(ours) {
  const start = cpuTimes();
  const startOurs = new Map(ours().map((pid) => [pid, procCpu(pid) ?? 0]));
  return () => {
    const end = cpuTimes();
    if (!start || !end) return null;
    let mine = 0;
    for (const pid of ours()) {
      const now = procCpu(pid);
      if (now !== null) mine += now - (startOurs.get(pid) ?? 0);
    }
    const total = end.total - start.total;
    const busy = end.busy - start.busy;
    return {
      machineBusyPct: Math.round((busy / total) * 1000) / 10,
      oursPct: Math.round((mine / total) * 1000) / 10,
      othersPct: Math.round((Math.max(0, busy - mine) / total) * 1000) / 10,
      stealPct: Math.round(((end.steal - start.steal) / total) * 1000) / 10,
    };
  };
}

export function isoDate(d = new Date()) {
  return d.toISOString().slice(0, 10);
}

export function round(n, digits = 2) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * The first of `candidates` (paths under ROOT/dist/src) that exists and exports `name`: a base
 * build and this one may keep a module in different folders (issue 17 moves several).
 */
export async function exportedFrom(root, name, candidates) {
  for (const c of candidates) {
    const file = join(root, 'dist/src', c);
    if (!existsSync(file)) continue;
    const mod = await import(file);
    if (mod[name] !== undefined) return mod[name];
  }
  throw new Error(`${root}: none of ${candidates.map((c) => `dist/src/${c}`).join(', ')} exports ${name} (built? npx tsc -p tsconfig.json)`);
}

/**
 * Builds a Gateway of the build at `root` in this process from a raw config object, logging
 * into nothing (the log line is still formatted: its cost is part of a request's); resolves
 * with the gateway and its origin once it listens on a loopback port.
 */
export async function startGatewayInProcess(root, raw, name = 'bench') {
  const compileConfig = await exportedFrom(root, 'compileConfig', ['config/compile.js']);
  const validateConfig = await exportedFrom(root, 'validateConfig', ['config/load.js']);
  const createLogger = await exportedFrom(root, 'createLogger', ['observability/logger.js', 'observability/logs.js']);
  const Gateway = await exportedFrom(root, 'Gateway', ['server/app.js', 'gateway/gateway.js', 'gateway/index.js', 'gateway/app.js']);
  const { Writable } = await import('node:stream');
  const config = compileConfig(validateConfig(raw, name, {}), name);
  const level = raw.logging?.level ?? 'info';
  const gateway = await Gateway.create(config, { logger: createLogger(level, new Writable({ write: (_c, _e, cb) => cb() })) });
  return { gateway, origin: (await gateway.listen()).url };
}

/**
 * µs of this process's CPU (user + system) per request over `n` POSTs of `body` to `path` on
 * `pool`, `concurrency` at a time; every answer read whole and required to be a 200. The CPU
 * A/B benches (ab-cpu, surfaces-cpu) alternate such batches between their targets.
 */
export async function cpuBatch(pool, { name, path, headers, body }, n, concurrency) {
  let started = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < n) {
        const res = await pool.request({ method: 'POST', path, headers, body });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`${name}: HTTP ${res.statusCode}`);
      }
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** The q-quantile of `xs` (nearest rank below). */
export function quantile(xs, q) {
  return [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) * q)];
}
