#!/usr/bin/env node
// Slow streams against everyone else (issue 15). Opens --streams slow streams (paced by the
// upstream, clients reading) and --stalled streams whose clients never read (the upstream
// floods them), from loopback source addresses 127.0.0.2 … , all to one provider, while a probe
// client on 127.0.0.1 sends answers-read-whole and short streams to the same provider at a
// fixed rate and records their latency: p50/p99 before the load and under it. Samples the
// gateway's RSS and open files every second; stops by itself and writes
// bench/results/<date>-slow-streams[-label].{json,md}.
//
//   node bench/slow-streams.mjs [--streams 2000] [--stalled 200] [--root DIR --legacy] [--server JSON] [--label L]
// Build first: npx tsc -p tsconfig.json. --root runs another checkout's build (e.g. the main
// branch, for a before figure); --legacy leaves out config keys older builds do not know;
// --server merges keys into the config's server section (e.g. '{"maxStreamsPerIp":50}').
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { URL } from 'node:url';
import { describeMachine, fdCount, freePort, isoDate, ROOT, round, rssBytes, startChild, waitHttp } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    streams: { type: 'string', default: '2000' },
    stalled: { type: 'string', default: '200' },
    ramp: { type: 'string', default: '5' },
    'tokens-per-second': { type: 'string', default: '1' },
    tokens: { type: 'string', default: '25' },
    'probe-rate': { type: 'string', default: '20' },
    'probe-seconds': { type: 'string', default: '30' },
    'baseline-seconds': { type: 'string', default: '5' },
    'source-addresses': { type: 'string', default: '8' },
    'write-timeout': { type: 'string', default: '5s' },
    root: { type: 'string', default: ROOT },
    legacy: { type: 'boolean', default: false },
    server: { type: 'string', default: '{}' },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    'no-write': { type: 'boolean', default: false },
  },
});
const N = Number(opt.streams);
const STALLED = Number(opt.stalled);
const RAMP_S = Number(opt.ramp);
const PROBE_RATE = Number(opt['probe-rate']);
const ADDRESSES = Array.from({ length: Number(opt['source-addresses']) }, (_, i) => `127.0.0.${i + 2}`);
const log = (m) => process.stderr.write(`${m}\n`);
const mb = (b) => (b === null ? null : round(b / 1048576, 1));
const tmp = mkdtempSync(join(tmpdir(), 'sluice-slow-streams-'));
const children = [];
const sockets = new Set();
const command = `node bench/slow-streams.mjs ${process.argv.slice(2).join(' ')}`.trim();

function percentiles(xs) {
  if (xs.length === 0) return { n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)], 1);
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(s[s.length - 1], 1) };
}

async function startGateway(configPath) {
  const port = await freePort();
  const g = startChild('sluice', process.execPath, [join(opt.root, 'dist/src/cli/main.js'), 'start', '--config', configPath, '--port', String(port)]);
  g.origin = `http://127.0.0.1:${port}`;
  await Promise.race([waitHttp(`${g.origin}/ready`, 60_000), g.exit.then((e) => Promise.reject(new Error(`sluice exited ${JSON.stringify(e)}:\n${g.output()}`)))]);
  return g;
}

const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 256, localAddress: '127.0.0.1' });

/** One probe request: resolves with ms to the whole answer (whole) or to the first chunk (stream), or an error label. */
function probe(origin, stream) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: 'm', stream, max_tokens: 1, messages: [{ role: 'user', content: 'probe' }] });
    const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST', agent: probeAgent, headers: { 'content-type': 'application/json' }, timeout: 60_000 }, (res) => {
      if (stream && res.statusCode === 200) {
        res.once('data', () => resolve({ ms: performance.now() - t0 }));
        res.resume();
        return;
      }
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? { ms: performance.now() - t0 } : { error: `HTTP ${res.statusCode}` }));
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout 60s')));
    req.on('error', (e) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

/** Probes at PROBE_RATE for `seconds`; every 4th is a short stream (time to first chunk). */
async function probeFor(origin, seconds) {
  const whole = [];
  const stream = [];
  const errors = {};
  const pending = [];
  const total = Math.round(seconds * PROBE_RATE);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / PROBE_RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const isStream = i % 4 === 3;
    pending.push(
      probe(origin, isStream).then((r) => {
        if (r.error !== undefined) errors[r.error] = (errors[r.error] ?? 0) + 1;
        else (isStream ? stream : whole).push(r.ms);
      }),
    );
  }
  await Promise.all(pending);
  return { whole: percentiles(whole), streamFirstChunk: percentiles(stream), errors };
}

const outcome = { opened: 0, completed: 0, refused: {}, errors: {} };
let open = 0;

function openStream(origin, address, stalled) {
  const body = JSON.stringify({ model: 'm', stream: true, max_tokens: stalled ? 1_000_000 : Number(opt.tokens), messages: [{ role: 'user', content: 'slow' }] });
  const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST', agent: false, localAddress: address, headers: { 'content-type': 'application/json' } }, (res) => {
    if (res.statusCode !== 200) {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let code = `HTTP ${res.statusCode}`;
        try {
          code = JSON.parse(text).error.code;
        } catch {
          // not a JSON error body: keep the status
        }
        outcome.refused[code] = (outcome.refused[code] ?? 0) + 1;
      });
      return;
    }
    outcome.opened++;
    open++;
    if (stalled) res.pause();
    else res.resume();
    // A paused client never reads the close of a connection the gateway cut: the upstream's count tells those.
    res.on('close', () => {
      open--;
      if (res.complete) outcome.completed++;
    });
    res.on('error', () => {});
  });
  req.on('socket', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  req.on('error', (e) => (outcome.errors[e.code ?? e.message] = (outcome.errors[e.code ?? e.message] ?? 0) + 1));
  req.end(body);
}

try {
  const machine = describeMachine();
  const upstream = startChild('upstream', process.execPath, [join(ROOT, 'bench/slow-streams-upstream.mjs'), '--tokens-per-second', opt['tokens-per-second']]);
  children.push(upstream);
  const [, upstreamUrl] = await upstream.waitFor(/upstream listening on (\S+)/);
  const server = { host: '127.0.0.1', ...(opt.legacy ? {} : { streamWriteTimeout: opt['write-timeout'] }), ...JSON.parse(opt.server) };
  const config = { server, logging: { level: 'warn' }, usage: { enabled: false }, providers: { up: { type: 'openai', baseUrl: upstreamUrl } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] };
  const configPath = join(tmp, 'sluice.yaml');
  writeFileSync(configPath, JSON.stringify(config));
  const gw = await startGateway(configPath);
  children.push(gw);
  log(`sluice ${gw.origin} (pid ${gw.pid}, build ${opt.root}), upstream ${upstreamUrl}`);
  await probeFor(gw.origin, 2); // warm-up
  const rssIdle = rssBytes(gw.pid);
  log(`probing ${opt['baseline-seconds']} s without load …`);
  const before = await probeFor(gw.origin, Number(opt['baseline-seconds']));
  log(`  whole p50 ${before.whole.p50} p99 ${before.whole.p99} ms; stream first chunk p50 ${before.streamFirstChunk.p50} p99 ${before.streamFirstChunk.p99} ms`);

  const samples = [];
  const t0 = Date.now();
  const upstreamStats = { pacedOpen: 0, floodOpen: 0, floodClosed: 0 };
  const statsUrl = `${new URL(upstreamUrl).origin}/stats`;
  const sampler = setInterval(() => {
    http.get(statsUrl, { agent: false }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => Object.assign(upstreamStats, JSON.parse(t)));
    }).on('error', () => {});
    samples.push({ t: round((Date.now() - t0) / 1000, 1), clientStreamsOpen: open, upstreamPacedOpen: upstreamStats.pacedOpen, upstreamFloodOpen: upstreamStats.floodOpen, sluiceRssMb: mb(rssBytes(gw.pid)), sluiceFds: fdCount(gw.pid) });
    const s = samples.at(-1);
    if (samples.length % 5 === 0) log(`  ${s.t}s upstream paced ${s.upstreamPacedOpen} flood ${s.upstreamFloodOpen} (cancelled ${upstreamStats.floodClosed}); completed ${outcome.completed}, refused ${JSON.stringify(outcome.refused)}; RSS ${s.sluiceRssMb} MB fds ${s.sluiceFds}`);
  }, 1000);
  log(`opening ${N} slow streams and ${STALLED} stalled ones over ${RAMP_S} s from ${ADDRESSES.length} addresses; probing ${opt['probe-seconds']} s …`);
  const total = N + STALLED;
  const opening = (async () => {
    for (let i = 0; i < total; i++) {
      // Stalled ones spread through the ramp.
      openStream(gw.origin, ADDRESSES[i % ADDRESSES.length], STALLED > 0 && i % Math.max(1, Math.floor(total / STALLED)) === 0 && i / Math.floor(total / STALLED) < STALLED);
      if (i % 50 === 49) await sleep((RAMP_S * 1000 * 50) / total);
    }
  })();
  const under = await probeFor(gw.origin, Number(opt['probe-seconds']));
  await opening;
  // Let the slow streams finish (and the stalled ones be cut off, where a write timeout does it) before counting.
  const settleBy = Date.now() + (Number(opt.tokens) / Number(opt['tokens-per-second']) + 15) * 1000;
  while ((open > STALLED || upstreamStats.floodOpen > 0) && Date.now() < settleBy) await sleep(250);
  clearInterval(sampler);
  log(`  whole p50 ${under.whole.p50} p99 ${under.whole.p99} ms; stream first chunk p50 ${under.streamFirstChunk.p50} p99 ${under.streamFirstChunk.p99} ms; errors ${JSON.stringify(under.errors)}`);
  const peak = samples.reduce((a, s) => (s.sluiceRssMb > (a?.sluiceRssMb ?? -1) ? s : a), null);
  const result = {
    command,
    date: new Date().toISOString(),
    machine,
    build: opt.root,
    config,
    load: { slowStreams: N, stalledStreams: STALLED, rampSeconds: RAMP_S, tokensPerSecond: Number(opt['tokens-per-second']), tokensPerSlowStream: Number(opt.tokens), sourceAddresses: ADDRESSES.length, probeRate: PROBE_RATE },
    probeWithoutLoad: before,
    probeUnderLoad: under,
    streams: { ...outcome, stalledUpstreamCallsCancelled: upstreamStats.floodClosed, stalledUpstreamCallsOpenAtEnd: upstreamStats.floodOpen, largestOpenUpstream: Math.max(0, ...samples.map((s) => s.upstreamPacedOpen + s.upstreamFloodOpen)) },
    sluice: { rssIdleMb: mb(rssIdle), rssPeakMb: peak?.sluiceRssMb ?? null, fdsPeak: Math.max(0, ...samples.map((s) => s.sluiceFds ?? 0)) },
    samples,
  };
  const md = [
    `# bench/slow-streams${opt.label ? ` (${opt.label})` : ''} — ${isoDate()}`,
    '',
    `Command: \`${command}\`. Raw numbers and per-second samples: the \`.json\` file next to this one.`,
    '',
    `- Machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGb} GB, Linux ${machine.kernel}, Node ${machine.node}; load average at start ${machine.loadAverageAtStart.join(' / ')}. **Shared**: other engineers' builds and tests ran on the same 2 cores during the run, so absolute latencies are noisy; compare before/after within one run.`,
    `- Build: ${opt.root === ROOT ? `this checkout (commit ${machine.commit})` : opt.root}; config: ${JSON.stringify(config.server)}, one openai-type provider with default pools, logging warn.`,
    `- Load: ${N} slow streams (${opt.tokens} tokens at ${opt['tokens-per-second']}/s, clients reading) and ${STALLED} stalled streams (upstream floods, clients never read), opened over ${RAMP_S} s from ${ADDRESSES.length} loopback addresses; probe on 127.0.0.1 at ${PROBE_RATE}/s (3 of 4 answers read whole, 1 of 4 a short stream: time to first chunk).`,
    '',
    '| | without load | under load |',
    '|---|---:|---:|',
    `| answer read whole p50 / p99 / max (ms) | ${before.whole.p50} / ${before.whole.p99} / ${before.whole.max} | **${under.whole.p50} / ${under.whole.p99} / ${under.whole.max}** (n ${under.whole.n}) |`,
    `| short stream, first chunk p50 / p99 / max (ms) | ${before.streamFirstChunk.p50} / ${before.streamFirstChunk.p99} / ${before.streamFirstChunk.max} | **${under.streamFirstChunk.p50} / ${under.streamFirstChunk.p99} / ${under.streamFirstChunk.max}** (n ${under.streamFirstChunk.n}) |`,
    `| probe errors | ${JSON.stringify(before.errors)} | ${JSON.stringify(under.errors)} |`,
    `| streams answered 200 / slow ones completed / refused (counted up to ${opt.tokens}/${opt['tokens-per-second']} + 15 s after the probe) | | ${outcome.opened} / ${outcome.completed} of ${N} / ${JSON.stringify(outcome.refused)} |`,
    `| stalled streams' upstream calls cancelled / still open at the end | | ${upstreamStats.floodClosed} / ${upstreamStats.floodOpen} (of ${STALLED}) |`,
    `| stream client errors | | ${JSON.stringify(outcome.errors)} |`,
    `| largest number of upstream streams open at once (the probe's short streams included) | | ${result.streams.largestOpenUpstream} |`,
    `| Sluice RSS idle → peak (MB) | | ${result.sluice.rssIdleMb} → ${result.sluice.rssPeakMb} |`,
    `| Sluice open files at the peak | | ${result.sluice.fdsPeak} |`,
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (!opt['no-write']) {
    mkdirSync(opt.out, { recursive: true });
    const base = join(opt.out, `${isoDate()}-slow-streams${opt.label ? `-${opt.label}` : ''}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${base}.md`, md);
    log(`wrote ${base}.{json,md}`);
  }
} finally {
  for (const s of sockets) s.destroy();
  probeAgent.destroy();
  for (const c of children.reverse()) await c.stop();
  rmSync(tmp, { recursive: true, force: true });
}
