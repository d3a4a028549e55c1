#!/usr/bin/env node
// A longer fuzz run than the test suite's (issue 15): starts a real gateway process (`sluice
// start`, embedded database, usage records, admin API, one HTTP service) and sends it mutated
// and hostile requests (bench/fuzz/inputs.ts) for --seconds. Reports inputs tried, 5xx, stalls,
// dropped connections, whether the process crashed, and its RSS. Exits 1 on any of those.
//
//   npm run build && node scripts/fuzz.mjs --seconds 60 [--seed 1] [--concurrency 8]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setInterval, clearInterval } from 'node:timers';
import { request } from 'undici';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '8' } } });
const seconds = Number(values.seconds);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { FuzzInputs } = await import(join(root, 'dist/bench/fuzz/inputs.js'));
const { describeCase, runFuzz } = await import(join(root, 'dist/bench/fuzz/run.js'));

const ADMIN = 'admin-token-fuzz-script-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
const backend = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end(JSON.stringify({ url: req.url })));
});
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
const config = join(dir, 'sluice.yaml');
writeFileSync(
  config,
  `server: { port: 0 }
logging: { level: info }
admin: { tokens: ["${ADMIN}"] }
database: { embedded: disk, dataDir: ${JSON.stringify(join(dir, 'db'))} }
usage: { spoolDir: ${JSON.stringify(join(dir, 'spool'))} }
tiers: { pro: {} }
providers: { mock: { type: mock } }
routes:
  - match: "*"
    targets: [{ provider: mock }]
    cache: { ttl: 1m }
services:
  - name: api
    match: { pathPrefix: /api/ }
    instances: [{ url: "http://127.0.0.1:${backend.address().port}" }]
`,
);

const child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'start', '--config', config, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
let errors = 0;
let crashed = null;
child.on('exit', (code, signal) => (crashed = { code, signal }));
const url = await new Promise((resolve, reject) => {
  const onData = (chunk) => {
    output += chunk.toString('utf8');
    for (const line of output.split('\n')) {
      if (line.includes('"level":50')) errors++;
      if (line.includes('sluice listening')) resolve(JSON.parse(line).url);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (c) => (output += c.toString('utf8')));
  child.once('exit', () => reject(new Error(`the gateway exited before listening:\n${output}`)));
});
// Error lines are counted as they come; the rest (one info line per request) is dropped.
output = '';
child.stdout.on('data', (chunk) => {
  for (const line of chunk.toString('utf8').split('\n')) if (line.includes('"level":50')) errors++;
});

const rssMb = () => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m === null ? null : Math.round(Number(m[1]) / 1024);
  } catch {
    return null;
  }
};
const rssStart = rssMb();
let rssPeak = rssStart ?? 0;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb() ?? 0)), 1000);

const startedAt = Date.now();
const inputs = new FuzzInputs(seed, { adminToken: ADMIN, servicePrefix: '/api/' });
const report = await runFuzz(url, inputs, { done: () => crashed !== null || Date.now() - startedAt >= seconds * 1000, concurrency, stallMs: 30_000 });
clearInterval(sampler);
const elapsed = (Date.now() - startedAt) / 1000;
const rssEnd = rssMb();
let healthy = false;
try {
  const res = await request(`${url}/health`);
  await res.body.dump();
  healthy = res.statusCode === 200;
} catch {
  healthy = false;
}

console.log(`sluice fuzz: seed ${seed}, ${concurrency} concurrent, ${elapsed.toFixed(1)} s, node ${process.version}`);
console.log(`  inputs tried     ${report.tried} (${Math.round(report.tried / elapsed)}/s; ${report.unsendable} refused by the client library)`);
console.log(`  answers          ${JSON.stringify(report.byClass)}`);
console.log(`  5xx              ${report.fiveXX}`);
console.log(`  stalls (>30 s)   ${report.stalls}`);
console.log(`  dropped          ${report.dropped}`);
console.log(`  error log lines  ${errors}`);
console.log(`  crashes          ${crashed === null ? 0 : `1 (${JSON.stringify(crashed)})`}; /health after: ${healthy ? 200 : 'no answer'}`);
console.log(`  RSS (MB)         start ${rssStart}, peak ${rssPeak}, end ${rssEnd}`);
for (const f of report.failures) console.log(`  ! ${describeCase(f)}`);

child.kill('SIGTERM');
await new Promise((resolve) => (crashed !== null ? resolve() : child.once('exit', resolve)));
backend.close();
rmSync(dir, { recursive: true, force: true });
process.exit(report.fiveXX + report.stalls + report.dropped + errors > 0 || crashed !== null || !healthy ? 1 : 0);
