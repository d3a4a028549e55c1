// The harness of the seed scenarios (issue 22): stand-ins for a system's API instances, the
// gateway as a child process started from the example's sluice.yaml, `sluice bench` as a
// second child for load, admin API calls, and the table of checks each scenario prints.
// Everything listens on 127.0.0.1, on ports the OS picks; nothing is left running.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { request } from 'undici';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** Resolves after `ms` of real time (only for the latencies stand-ins simulate). */
export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * N stand-in API instances: node:http servers whose `handler(req, res, body, index)` answers.
 * `kill(i)` stops one as a crash does (open connections cut); `hits[i]` counts what each saw.
 * `latencyMs` delays every answer but health checks' by that much: the latency a design states
 * for its own API (used by the --full runs, so their figures include it).
 */
export async function startInstances(n, handler, { latencyMs = 0 } = {}) {
  if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) throw new RangeError(`latencyMs must be a number >= 0, got ${latencyMs}`);
  const servers = [];
  const hits = Array.from({ length: n }, () => 0);
  for (let i = 0; i < n; i++) {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const health = req.url.endsWith('/health');
        if (!health) hits[i]++;
        const body = Buffer.concat(chunks).toString('utf8');
        (latencyMs === 0 || health ? Promise.resolve(handler(req, res, body, i)) : delay(latencyMs).then(() => handler(req, res, body, i))).catch((err) => {
          res.writeHead(500).end(String(err));
        });
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const urls = servers.map((s) => `http://127.0.0.1:${s.address().port}`);
  const alive = servers.map(() => true);
  const stop = async (i) => {
    if (!alive[i]) return;
    alive[i] = false;
    const closed = new Promise((resolve) => servers[i].close(resolve));
    servers[i].closeAllConnections();
    await closed;
  };
  return { urls, hits, kill: stop, close: () => Promise.all(servers.map((_, i) => stop(i))) };
}

/**
 * An OpenAI-shaped chat provider with a fixed capacity made visible: every chat completion is
 * held until the scenario releases it, so what reaches the provider, and in which order, is
 * decided by Sluice's admission queue alone. `arrivals` lists each request as it arrived (its
 * last user message and the time); `arrived(n)` resolves when n have; `releaseOldest()`
 * answers the longest-held one. Set `hold` false to answer at once instead. `acceptKeys`
 * (a Set of API keys, or null for any) is what the provider takes: another key is answered
 * 401 and counted in `refused`; `keysSeen` counts the requests each key authorised.
 */
export async function startHeldProvider() {
  const held = [];
  const arrivals = [];
  const waiters = [];
  const keysSeen = new Map();
  const state = { hold: true, acceptKeys: null, refused: 0 };
  const answer = (res, model) =>
    json(res, 200, {
      id: `chatcmpl-held-${arrivals.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: '1. Acme 2. Globex 3. Initech' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
    });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) return json(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
      let body = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: { message: 'not JSON', type: 'invalid_request_error' } });
      }
      const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (state.acceptKeys !== null && !state.acceptKeys.has(key)) {
        state.refused++;
        return json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      keysSeen.set(key, (keysSeen.get(key) ?? 0) + 1);
      const content = String(body.messages?.at(-1)?.content ?? '');
      arrivals.push({ content, at: performance.now() });
      if (state.hold) held.push(() => answer(res, body.model ?? 'unknown'));
      else answer(res, body.model ?? 'unknown');
      for (const w of waiters.splice(0)) {
        if (arrivals.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    arrivals,
    keysSeen,
    get held() {
      return held.length;
    },
    get refused() {
      return state.refused;
    },
    set hold(on) {
      state.hold = on;
    },
    set acceptKeys(keys) {
      state.acceptKeys = keys;
    },
    /** Resolves once `n` requests have arrived, or rejects after `ms` (a check that cannot hang). */
    arrived(n, ms = 20_000) {
      if (arrivals.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the held provider saw ${arrivals.length} of ${n} requests in ${ms} ms`)), ms);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    releaseOldest() {
      held.shift()?.();
    },
    close: async () => {
      for (const release of held.splice(0)) release();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one, like redis-server). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server on loopback, without persistence; `stop()` ends it. Needs redis-server on PATH. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c.toString('utf8')));
  await new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`this scenario needs redis-server on PATH (Debian: apt-get install redis-server): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    const poll = setInterval(() => {
      if (!output.includes('Ready to accept connections')) return;
      clearInterval(poll);
      resolve();
    }, 10);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until `sluice` has logged `pattern` (after `from` characters of its output). */
export function logged(sluice, pattern, from = 0, ms = 10_000) {
  return eventually(() => pattern.test(sluice.output().slice(from)), ms);
}

/**
 * A 15-minute HS256 access token, as the systems' auth services issue them (seeds 000, 004):
 * subject `sub`, session `sid`, and a `tier` claim when given. `lifetimeSec` and
 * `issuedAgoSec` make the tokens a misconfigured issuer would (longer-lived, or old).
 */
export function accessToken(secret, sub, sid, tier, { lifetimeSec = 15 * 60, issuedAgoSec = 0 } = {}) {
  const iat = Math.floor(Date.now() / 1000) - issuedAgoSec;
  return new SignJWT({ sid, ...(tier === undefined ? {} : { tier }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeSec)
    .sign(new TextEncoder().encode(secret));
}

/** Answers JSON. */
export function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A Sluice process started from `configFile` with `env` for its ${VAR} references, on a free
 * port, in a data folder of its own unless `dataDir` is given. Resolves once it listens.
 */
export async function startSluice(configFile, env, { dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-example-'));
  const child = spawn(process.execPath, [CLI, 'start', '--config', configFile, '--port', '0'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString('utf8');
      for (const line of output.split('\n')) {
        if (!line.includes('"sluice listening"')) continue;
        child.stdout.off('data', onData);
        resolve(JSON.parse(line).url);
        return;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => (output += c.toString('utf8')));
    child.once('exit', (code, signal) => reject(new Error(`sluice exited (${code ?? signal}) before listening:\n${output}`)));
  });
  child.stdout.on('data', (c) => (output += c.toString('utf8')));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url,
    dir,
    child,
    output: () => output,
    /** SIGTERM: drains, exits 0. */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    /** SIGKILL: what a crash or an OOM kill does. */
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    removeData: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One HTTP request; the body parsed as JSON when it is JSON. */
export async function call(url, { method = 'GET', headers = {}, body } = {}) {
  const res = await request(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers, text, json: parsed };
}

/** Runs `sluice bench … --json` as a child process and resolves with its result (and exit code). */
export async function bench(args) {
  const child = spawn(process.execPath, [CLI, 'bench', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c) => (stderr += c.toString('utf8')));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (stdout.trim() === '') throw new Error(`sluice bench printed nothing (exit ${code}): ${stderr}`);
  return { code, result: JSON.parse(stdout), stderr };
}

/** Whether a command is on the PATH. */
function onPath(cmd) {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      return readFileSync(join(d, cmd)) !== null;
    } catch {
      return false;
    }
  });
}

/**
 * A real Prometheus server on loopback scraping `targets` (host:port) every second with the
 * repository's alert rules (deploy/prometheus/alerts.yml) evaluated every second; null when
 * `prometheus` is not installed (Debian's package). `alerts()` reads its active alerts.
 */
export async function startPrometheus(targets) {
  if (!onPath('prometheus')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [ ${JSON.stringify(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'))} ]`,
    'scrape_configs:',
    `  - { job_name: sluice, static_configs: [ { targets: ${JSON.stringify(targets)} } ] }`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c.toString('utf8')).slice(-4096)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = await eventually(async () => {
    if (child.exitCode !== null) return true; // exited: reported below
    try {
      return (await call(`${url}/-/ready`)).status === 200;
    } catch {
      return false; // not listening yet
    }
  }, 30_000);
  if (!ready || child.exitCode !== null) {
    await stop();
    throw new Error(`prometheus did not become ready: ${stderr}`);
  }
  return { url, stop, alerts: async () => (await call(`${url}/api/v1/alerts`)).json?.data?.alerts ?? [] };
}

/** The value of one sample of a Prometheus text exposition, or null. */
export function metric(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(labels === '' ? `${name} ` : `${name}{${labels}}`));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Polls `check` until it holds or `ms` pass; resolves with whether it held. */
export async function eventually(check, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await delay(20);
  }
  return false;
}

/** A config file in a temp folder, from the example's sluice.yaml (read as is: ${VAR}s are the gateway's to resolve). */
export function configFile(example) {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${example}-`));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'examples', example, 'sluice.yaml'), 'utf8'));
  return file;
}

/**
 * The checks a scenario makes: each a behaviour or target of the design, the figure measured,
 * and whether it held. `print` writes the table; the run fails when one check failed.
 */
export class Checks {
  rows = [];

  /** In a short run, speed targets are measured and shown but do not fail it (the suite may share the machine). */
  constructor(full = false) {
    this.full = full;
  }

  /** A behaviour: always checked. */
  add(what, ok, figure, target = '') {
    this.rows.push({ what, ok: Boolean(ok), figure: String(figure), target, mark: ok ? 'ok' : 'FAIL' });
  }

  /** A speed target (latency, throughput): checked in a full run, shown as "info" in a short one. */
  target(what, ok, figure, target = '') {
    if (this.full) this.add(what, ok, figure, target);
    else this.rows.push({ what, ok: true, figure: String(figure), target: `${target} (checked with --full)`, mark: 'info' });
  }

  /** A check this machine cannot make (a tool missing): shown, not counted as passed. */
  skip(what, why) {
    this.rows.push({ what, ok: true, figure: `skipped: ${why}`, target: '', mark: 'skip' });
  }

  get failed() {
    return this.rows.filter((r) => !r.ok);
  }

  print(title, out = process.stdout) {
    const head = ['', 'check', 'measured', 'target'];
    const body = this.rows.map((r) => [r.mark, r.what, r.figure, r.target]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
    const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    out.write(`\n${title}\n\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${body.map(line).join('\n')}\n\n`);
    out.write(this.failed.length === 0 ? `all ${this.rows.length} checks passed\n` : `${this.failed.length} of ${this.rows.length} checks FAILED\n`);
  }
}
