#!/usr/bin/env node
// Idle keep-alive connections (issue 19): how many a Sluice instance holds, what each costs in
// memory, and whether a probe client's latency holds meanwhile. Sluice starts on its built-in
// mock (no upstream sockets); --connections raw TCP connections each send one request
// (GET /v1/models, keep-alive), read the answer and stay open and idle, from several loopback
// source addresses. Sluice's RSS (the primary's and its workers', with --workers) is read before
// and after. Then, with every connection still open, a probe sends chat completions at an open-
// loop rate, and its p50/p99/p99.9 are reported beside the same probe with no idle connections.
// Writes bench/results/<date>-idle-connections[-wN].{json,md}.
//
//   node bench/idle-connections.mjs [--connections 18000] [--workers 1] [--rate 500] [--seconds 10]
// Build first: npx tsc -p tsconfig.json. This process and Sluice each hold one file per
// connection: both are capped by the open-file limit (20,000 in this sandbox).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, fdLimits, isoDate, loadDist, ROOT, round, rssBytes, startSluice } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    connections: { type: 'string', default: '18000' },
    workers: { type: 'string', default: '1' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    'source-addresses': { type: 'string', default: '8' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write('Usage: node bench/idle-connections.mjs [--connections 18000] [--workers 1] [--rate 500] [--seconds 10] [--source-addresses 8] [--out DIR] [--no-write]\n');
  process.exit(0);
}
const log = (m) => process.stderr.write(`${m}\n`);
const dist = await loadDist();
const workers = Number(opt.workers);
const limits = fdLimits();
const asked = Number(opt.connections);
// Room for the probe, the runtime's own files and Sluice's (it holds one file per connection too).
const connections = Math.min(asked, (limits?.soft ?? 20_000) - 500);
const tmp = mkdtempSync(join(tmpdir(), 'sluice-idle-'));
const configPath = join(tmp, 'sluice.json');
writeFileSync(
  configPath,
  JSON.stringify({
    server: { host: '127.0.0.1', workers, maxConnections: 100_000, maxConnectionsPerIp: 100_000 },
    logging: { level: 'warn' },
    usage: { enabled: false },
    providers: { mock: { type: 'mock' } },
    routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
  }),
);

/** Sluice's resident memory: the process and its children (the workers). */
function treeRss(pid) {
  let sum = rssBytes(pid) ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) sum += rssBytes(Number(entry)) ?? 0;
    } catch {
      // ended while listed
    }
  }
  return sum;
}

async function probe(url) {
  const plan = dist.plan.buildPlan({ rate: opt.rate, duration: `${opt.seconds}s`, timeout: '10s', grace: '5s' }, [url]).plan;
  const r = dist.result.buildResult(await dist.runner.runBench(plan));
  return { ok: r.counts.ok, errors: r.counts.sent - r.counts.ok, p50: round(r.latency.p50), p99: round(r.latency.p99), p999: round(r.latency.p999) };
}

/** One idle keep-alive connection: a request answered, then nothing. */
function openIdle(port, localAddress) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let seen = '';
    socket.setEncoding('latin1');
    socket.once('error', reject);
    socket.on('connect', () => socket.write('GET /v1/models HTTP/1.1\r\nhost: sluice\r\nconnection: keep-alive\r\n\r\n'));
    const onData = (chunk) => {
      seen += chunk;
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(seen.slice(0, end))?.[1] ?? NaN);
      if (seen.length >= end + 4 + length) {
        socket.off('data', onData);
        resolve(socket);
      }
    };
    socket.on('data', onData);
  });
}

const sluice = await startSluice('sluice', configPath);
const port = Number(new URL(sluice.origin).port);
const sockets = [];
try {
  // Warm up: JIT and pools, so the memory delta is the connections'.
  await probe(sluice.url);
  const baseline = await probe(sluice.url);
  await sleep(1000);
  const rssBefore = treeRss(sluice.pid);
  const sources = Number(opt['source-addresses']);
  log(`opening ${connections} idle keep-alive connections from ${sources} source addresses (asked ${asked}; open-file limit ${limits?.soft})`);
  const started = performance.now();
  for (let i = 0; i < connections; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(connections, i + 200); j++) batch.push(openIdle(port, `127.0.0.${1 + (j % sources)}`));
    sockets.push(...(await Promise.all(batch)));
  }
  const openMs = performance.now() - started;
  await sleep(2000);
  const rssAfter = treeRss(sluice.pid);
  log(`held ${sockets.length} in ${round(openMs / 1000, 1)} s; RSS ${round(rssBefore / 1048576, 1)} → ${round(rssAfter / 1048576, 1)} MB; probing at ${opt.rate} req/s for ${opt.seconds} s`);
  const loaded = await probe(sluice.url);
  const stillOpen = sockets.filter((s) => !s.destroyed).length;
  const result = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    command: `node bench/idle-connections.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { connections, asked, workers, rate: Number(opt.rate), seconds: Number(opt.seconds), sourceAddresses: sources, fdLimit: limits?.soft ?? null },
    held: sockets.length,
    stillOpenAfterProbe: stillOpen,
    openSeconds: round(openMs / 1000, 2),
    rssMb: { before: round(rssBefore / 1048576, 1), after: round(rssAfter / 1048576, 1) },
    bytesPerIdleConnection: Math.round((rssAfter - rssBefore) / sockets.length),
    probe: { withoutIdle: baseline, withIdle: loaded },
  };
  const md = [
    `# Idle keep-alive connections (${result.date.slice(0, 10)})`,
    '',
    `\`${result.command}\` — ${result.machine.cores} cores, ${result.machine.cpuModel}, Node ${result.machine.node}, commit ${result.machine.commit}`,
    '',
    `Sluice on its built-in mock, server.workers ${workers}. ${sockets.length} connections (asked ${asked}; open-file limit ${limits?.soft}) each sent one GET /v1/models with keep-alive and stayed idle, from ${sources} loopback source addresses; ${stillOpen} were still open after the probe.`,
    '',
    '| | value |',
    '|---|---|',
    `| RSS before / after (all Sluice processes) | ${result.rssMb.before} / ${result.rssMb.after} MB |`,
    `| RSS per idle connection | ${round(result.bytesPerIdleConnection / 1024, 2)} KiB |`,
    `| probe at ${opt.rate} req/s, no idle connections: p50 / p99 / p99.9 | ${baseline.p50} / ${baseline.p99} / ${baseline.p999} ms (${baseline.errors} errors) |`,
    `| the same with ${sockets.length} idle connections open | ${loaded.p50} / ${loaded.p99} / ${loaded.p999} ms (${loaded.errors} errors) |`,
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (!opt['no-write']) {
    mkdirSync(opt.out, { recursive: true });
    const name = `${isoDate()}-idle-connections${workers > 1 ? `-w${workers}` : ''}`;
    writeFileSync(join(opt.out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(opt.out, `${name}.md`), md);
    log(`wrote ${join(opt.out, name)}.{json,md}`);
  }
} finally {
  for (const s of sockets) s.destroy();
  await sluice.stop();
  rmSync(tmp, { recursive: true, force: true });
}
