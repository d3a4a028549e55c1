#!/usr/bin/env node
// bench/cache-hits: how fast Sluice serves response-cache hits, next to a bare Node `http`
// server answering the same bytes, measured in one run on one machine.
//
// Starts the mock upstream and Sluice with a caching route, primes one answer, then starts a
// bare node:http server (its own process, as Sluice is) that reads each request and answers
// with exactly the bytes of that cached answer. In interleaved rounds, a closed loop of
// sluice bench (the in-repo generator, same process for both) sends the same request to each.
// Prints req/s and p50/p99 per target and the ratio Sluice/bare; writes
// bench/results/<date>-cache-hits.{json,md} unless --quick.
//
//   node bench/cache-hits.mjs [--rounds 3] [--seconds 6] [--connections 50] [--quick]
// Build first: npx tsc -p tsconfig.json
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Buffer } from 'node:buffer';
import { request } from 'undici';
import { ROOT, describeMachine, isoDate, loadDist, round, startChild, startMock, startSluice, waitHttp, freePort } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    quick: { type: 'boolean', default: false },
  },
});
const settings = { rounds: opt.quick ? 1 : Number(opt.rounds), seconds: opt.quick ? 1 : Number(opt.seconds), connections: Number(opt.connections) };
const log = (m) => process.stderr.write(`${m}\n`);
const dist = await loadDist();
const tmp = mkdtempSync(join(tmpdir(), 'sluice-cache-hits-'));
const children = [];

const requestBody = { model: 'mock-1', temperature: 0, max_tokens: 64, messages: [{ role: 'user', content: 'Which three running shoe brands rank best for comfort?' }] };
const bodyFile = join(tmp, 'body.json');
writeFileSync(bodyFile, JSON.stringify(requestBody));

// A bare server: drain the request, answer the cached bytes with the same content type.
const BARE = `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const body = readFileSync(process.argv[2]);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.argv[3]), '127.0.0.1', () => console.log('ready'));
`;

async function closedRun(url, seconds) {
  const plan = dist.plan.buildPlan({ concurrency: String(settings.connections), duration: `${seconds}s`, body: bodyFile, timeout: '10s', grace: '5s' }, [url]).plan;
  const client = dist.runner.newClient(plan);
  await dist.runner.runBench(dist.runner.warmupPlan(plan, 500), { client });
  const run = await dist.runner.runBench(plan, { client });
  await client.close();
  const r = dist.result.buildResult(run);
  return { rps: round(r.rates.ok, 0), p50: r.latency.p50, p99: r.latency.p99, errors: r.counts.errors };
}

try {
  const mock = await startMock();
  children.push(mock);
  const configPath = join(tmp, 'sluice.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1' },
      logging: { level: 'warn' },
      // Usage accounting stays on, as by default (each hit leaves a record), in this run's own folders.
      database: { embedded: 'memory' },
      usage: { spoolDir: join(tmp, 'spool') },
      providers: { mock: { type: 'openai', baseUrl: mock.url } },
      routes: [{ match: '*', cache: { ttl: '1h', scope: 'shared' }, targets: [{ provider: 'mock' }] }],
    }),
  );
  const sluice = await startSluice('sluice', configPath);
  children.push(sluice);
  // Prime the entry and check that the next answer is a hit.
  const ask = async () => {
    const res = await request(`${sluice.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(requestBody) });
    return { cache: res.headers['x-sluice-cache'], body: Buffer.from(await res.body.arrayBuffer()) };
  };
  const primed = await ask();
  const hit = await ask();
  if (primed.cache !== 'miss' || hit.cache !== 'hit') throw new Error(`expected miss then hit, got ${primed.cache} then ${hit.cache}`);
  const answerFile = join(tmp, 'answer.json');
  writeFileSync(answerFile, hit.body);
  const barePort = await freePort();
  writeFileSync(join(tmp, 'bare.mjs'), BARE);
  const bare = startChild('bare', process.execPath, [join(tmp, 'bare.mjs'), answerFile, String(barePort)]);
  children.push(bare);
  await bare.waitFor(/ready/);
  await waitHttp(`http://127.0.0.1:${barePort}/`);
  const targets = [
    { name: 'bare node:http', url: `http://127.0.0.1:${barePort}/v1` },
    { name: 'sluice cache hit', url: sluice.url },
  ];
  const rounds = [];
  for (let r = 0; r < settings.rounds; r++) {
    const round_ = {};
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      log(`round ${r + 1}/${settings.rounds}: ${t.name}`);
      round_[t.name] = await closedRun(t.url, settings.seconds);
    }
    round_.ratio = round(round_['sluice cache hit'].rps / round_['bare node:http'].rps, 3);
    rounds.push(round_);
  }
  const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)];
  const machine = describeMachine();
  const lines = [
    `# Cache hits vs a bare node:http server (${isoDate()})`,
    '',
    `Same request (${JSON.stringify(requestBody).length} bytes), same ${hit.body.length}-byte answer. Sluice runs its default pipeline around the cache (metrics, usage accounting with an in-memory SQLite, logging at warn). Closed loop, sluice bench, ${settings.connections} connections, ${settings.seconds} s per target per round, interleaved (order alternates). All processes share the machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${process.version}.`,
    '',
    '| round | bare req/s | bare p50/p99 ms | Sluice hit req/s | Sluice p50/p99 ms | Sluice/bare |',
    '|---|---|---|---|---|---|',
    ...rounds.map((r, i) => `| ${i + 1} | ${r['bare node:http'].rps} | ${r['bare node:http'].p50} / ${r['bare node:http'].p99} | ${r['sluice cache hit'].rps} | ${r['sluice cache hit'].p50} / ${r['sluice cache hit'].p99} | ${r.ratio} |`),
    '',
    `Median ratio: **${median}** (Sluice serves cache hits at ${Math.round(median * 100)}% of a bare server's rate). Errors: ${rounds.reduce((n, r) => n + r['bare node:http'].errors + r['sluice cache hit'].errors, 0)}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!opt.quick) {
    const base = join(opt.out, `${isoDate()}-cache-hits`);
    writeFileSync(`${base}.json`, JSON.stringify({ date: new Date().toISOString(), machine, settings, rounds, medianRatio: median }, null, 2));
    writeFileSync(`${base}.md`, `${lines.join('\n')}\n`);
    log(`wrote ${base}.json and .md`);
  }
} finally {
  for (const c of children.reverse()) await c.stop().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
