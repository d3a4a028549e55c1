#!/usr/bin/env node
// Streaming concurrency: how many slow streams Sluice holds at once, and what each costs in
// memory. The mock streams 8 tokens slowly (--tokens-per-second 0.25: one chunk every 4 s, so
// a stream lasts about 40 s); sluice bench opens --streams streams through Sluice over --ramp,
// from several loopback source addresses, and the gateway's RSS (/proc/<pid>/status VmRSS) is
// sampled every second. Writes bench/results/<date>-streams[-inprocess].{json,md}.
//
//   node bench/streams.mjs [--streams 10000] [--ramp 20s] [--provider http|inprocess]
// Build first: npx tsc -p tsconfig.json.
//
// Two limits shape the HTTP run, and the output states both: a provider's upstream pool holds
// at most 4096 connections (the config schema's maximum), so the streams are spread over
// several mock upstreams, one provider and one route (model mock-N) each; and every stream
// holds two sockets in Sluice, so the open-file limit caps the count (the script raises the
// limit when the system lets it, else runs the largest count the limit allows).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { describeMachine, fdCount, fdLimits, isoDate, loadDist, ROOT, round, rssBytes, startMock, startSluice } from './lib.mjs';

const HELP = `Usage: node bench/streams.mjs [options]
  --streams N             Streams to open (default 10000; capped by the open-file limit, see below)
  --ramp D                Open them over D (default 20s)
  --tokens-per-second T   Mock pace (default 0.25: a stream lasts 10 / T seconds)
  --source-addresses N    Spread client connections over 127.0.0.1 … 127.0.0.N (default 8)
  --provider P            http: Sluice forwards to mock upstreams over HTTP (two sockets per
                          stream in the gateway; default). inprocess: Sluice answers from its
                          built-in mock provider (one socket per stream, no upstream)
  --per-upstream N        Streams per mock upstream and provider (default 3400, under the
                          provider pool's maximum of 4096 connections)
  --no-cap                Run --streams even when the open-file limit cannot hold them
  --out DIR               Results directory (default bench/results); --no-write to skip
`;
const { values: opt } = parseArgs({
  options: {
    streams: { type: 'string', default: '10000' },
    ramp: { type: 'string', default: '20s' },
    'tokens-per-second': { type: 'string', default: '0.25' },
    'source-addresses': { type: 'string', default: '8' },
    provider: { type: 'string', default: 'http' },
    'per-upstream': { type: 'string', default: '3400' },
    'no-cap': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const inprocess = opt.provider === 'inprocess';
if (!['http', 'inprocess'].includes(opt.provider)) throw new Error(`--provider: http or inprocess, got ${opt.provider}`);
const asked = Number(opt.streams);
const tps = Number(opt['tokens-per-second']);
const MAX_TOKENS = 8;
// Chunks per stream: role, 8 words, finish, usage (Sluice asks for usage), paced from 0.
const streamSeconds = (MAX_TOKENS + 2) / tps;
const socketsPerStream = inprocess ? 1 : 2; // in Sluice; this process and each mock hold one
const RESERVED_FDS = 300; // Sluice's own files, listener, pools; measured ~60 at idle

// Raise the open-file limit when it is too low and the system allows (children inherit it).
const needed = socketsPerStream * asked + RESERVED_FDS;
const limits = fdLimits();
if (limits && limits.soft < needed && process.env.SLUICE_STREAMS_REEXEC !== '1') {
  const canRaise = (n) => spawnSync('sh', ['-c', `ulimit -n ${n}`]).status === 0;
  const want = [Math.max(needed, 65536), limits.hard].find((n) => n > limits.soft && canRaise(n));
  if (want !== undefined) {
    process.stderr.write(`open-file limit ${limits.soft} < ${needed}: re-running under ulimit -n ${want}\n`);
    const args = process.argv.slice(1).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('sh', ['-c', `ulimit -n ${want} && exec '${process.execPath}' ${args}`], { stdio: 'inherit', env: { ...process.env, SLUICE_STREAMS_REEXEC: '1' } });
    process.exit(r.status ?? 1);
  }
}
const fdLimit = fdLimits()?.soft ?? Infinity;
const byFd = Math.floor((fdLimit - RESERVED_FDS) / socketsPerStream / 50) * 50;
const streams = !opt['no-cap'] && asked > byFd ? byFd : asked;
const capNote =
  streams < asked
    ? `Asked for ${asked.toLocaleString('en-US')} streams; this environment's open-file limit is ${fdLimit} per process (hard limit; raising it needs CAP_SYS_RESOURCE, which this container lacks), and Sluice holds ${socketsPerStream} sockets per stream, so this run opened ${streams.toLocaleString('en-US')}, the most the limit allows.`
    : null;

const dist = await loadDist();
const log = (msg) => process.stderr.write(`${msg}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'sluice-streams-'));
const children = [];
const startedAt = new Date();
const mb = (b) => (b === null ? null : round(b / 1048576, 1));

try {
  if (capNote) log(capNote);
  const machine = describeMachine();
  const perUpstream = Number(opt['per-upstream']);
  const groups = inprocess ? 1 : Math.ceil(streams / perUpstream);
  const mocks = [];
  for (let i = 0; i < (inprocess ? 0 : groups); i++) {
    const m = await startMock(['--tokens-per-second', String(tps)]);
    children.push(m);
    mocks.push(m);
  }
  const providers = {};
  const routes = [];
  for (let i = 0; i < groups; i++) {
    providers[`m${i}`] = inprocess ? { type: 'mock', tokensPerSecond: tps } : { type: 'openai', baseUrl: mocks[i].url, connections: Math.min(4096, Math.ceil(streams / groups) + 200), streamConnections: Math.min(4096, Math.ceil(streams / groups) + 200) };
    routes.push({ match: `mock-${i}`, targets: [{ provider: `m${i}` }] });
  }
  const configPath = join(tmp, 'sluice.yaml');
  // This bench measures how many streams the gateway can hold, so its connection and stream limits (issue 15) are raised past the run's.
  const room = streams + 1000;
  const server = { host: '127.0.0.1', maxConnections: room, maxConnectionsPerIp: room, maxStreams: room, maxStreamsPerIp: room };
  writeFileSync(configPath, JSON.stringify({ server, logging: { level: 'warn' }, usage: { enabled: false }, providers, routes }));
  const sluice = await startSluice('sluice', configPath);
  children.push(sluice);
  log(`${inprocess ? 'in-process mock provider' : `${groups} mock upstreams`} (${tps} tokens/s, ~${streamSeconds} s per stream), sluice ${sluice.url} pid ${sluice.pid}; open-file limit ${fdLimit}`);

  // Warm-up: quick JSON requests on every route, then the idle baseline.
  for (let i = 0; i < groups; i++) await dist.runner.runBench(dist.plan.buildPlan({ concurrency: '8', requests: '200', model: `mock-${i}` }, [sluice.url]).plan);
  await sleep(1000);
  const baseline = { sluiceRss: rssBytes(sluice.pid), sluiceFds: fdCount(sluice.pid) };
  log(`baseline: sluice RSS ${mb(baseline.sluiceRss)} MB, ${baseline.sluiceFds} fds`);

  const rampMs = dist.plan.buildPlan({ rate: '1', requests: '1', duration: opt.ramp }, [sluice.url]).plan.load.schedule.durationMs;
  const rate = streams / (rampMs / 1000);
  // One open-loop run per route, in parallel in this process, each its share of the streams.
  const plans = Array.from({ length: groups }, (_, i) => {
    const n = Math.floor(streams / groups) + (i < streams % groups ? 1 : 0);
    return dist.plan.buildPlan(
      {
        stages: `0s:${(rate * n) / streams},${opt.ramp}:${(rate * n) / streams}`,
        requests: String(n),
        model: `mock-${i}`,
        stream: true,
        'max-tokens': String(MAX_TOKENS),
        'source-addresses': opt['source-addresses'],
        connections: String(n + 100),
        'max-in-flight': String(n + 100),
        timeout: '60s',
        grace: `${Math.ceil(streamSeconds * 2)}s`,
      },
      [sluice.url],
    ).plan;
  });
  const recorders = [];
  const samples = [];
  let peak = { openStreams: 0, sluiceRss: 0, sluiceFds: 0, t: 0 };
  let maxRss = 0;
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const sum = (k) => recorders.reduce((a, r) => a + r[k], 0);
    const rss = rssBytes(sluice.pid) ?? 0;
    const sample = { t: round((Date.now() - t0) / 1000, 1), openStreams: sum('openStreams'), inFlight: sum('inFlight'), ok: sum('ok'), errors: sum('errors'), sluiceRssMb: mb(rss), sluiceFds: fdCount(sluice.pid), mockRssMb: mocks.map((m) => mb(rssBytes(m.pid))), benchRssMb: mb(process.memoryUsage.rss()) };
    samples.push(sample);
    if (rss > maxRss) maxRss = rss;
    if (sample.openStreams > peak.openStreams || (sample.openStreams === peak.openStreams && rss > peak.sluiceRss)) peak = { openStreams: sample.openStreams, sluiceRss: rss, sluiceFds: sample.sluiceFds, t: sample.t };
    if (samples.length % 5 === 0) log(`  ${sample.t}s  open streams ${sample.openStreams}  in flight ${sample.inFlight}  done ${sample.ok}  errors ${sample.errors}  sluice RSS ${sample.sluiceRssMb} MB, ${sample.sluiceFds} fds`);
  }, 1000);
  log(`opening ${streams} streams over ${opt.ramp} (${round(rate, 1)}/s) over ${groups} route(s), from ${opt['source-addresses']} source addresses; each lasts ~${streamSeconds} s`);
  const runs = await Promise.all(plans.map((plan) => dist.runner.runBench(plan, { onStart: (r) => recorders.push(r) })));
  clearInterval(sampler);

  // Merge the parallel runs into one result.
  const results = runs.map((r) => dist.result.buildResult(r));
  const merged = { ttft: dist.histogram.createHistogram(), itl: dist.histogram.createHistogram(), gap: dist.histogram.createHistogram(), latency: dist.histogram.createHistogram() };
  for (const r of runs) {
    merged.ttft.add(r.recorder.ttft);
    merged.itl.add(r.recorder.itl);
    merged.gap.add(r.recorder.maxGap);
    merged.latency.add(r.recorder.latency);
  }
  const errors = {};
  const errorSamples = {};
  for (const r of results) {
    for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
    Object.assign(errorSamples, r.errorSamples);
  }
  const ok = results.reduce((a, r) => a + r.counts.ok, 0);
  const s = (h) => dist.histogram.summarize(h);
  const held = samples.filter((x) => x.openStreams >= peak.openStreams * 0.99).length;
  const perStreamKb = peak.openStreams > 0 ? round((peak.sluiceRss - (baseline.sluiceRss ?? 0)) / peak.openStreams / 1024, 1) : null;
  const summary = {
    provider: opt.provider,
    streamsAsked: asked,
    streamsOpened: streams,
    largestConcurrentStreams: peak.openStreams,
    secondsAtPeak: held,
    completed: ok,
    errors,
    errorSamples,
    sluiceRssBaselineMb: mb(baseline.sluiceRss),
    sluiceRssAtPeakMb: mb(peak.sluiceRss),
    sluiceRssMaxMb: mb(maxRss),
    memoryPerStreamKb: perStreamKb,
    sluiceFdsAtPeak: peak.sluiceFds,
    ttftMs: s(merged.ttft),
    interTokenMs: s(merged.itl),
    worstGapPerStreamMs: s(merged.gap),
    streamDurationMs: s(merged.latency),
  };
  const notes = [
    inprocess
      ? "Provider: Sluice's built-in mock provider (in-process): the gateway holds one socket per stream and no upstream connection. This isolates the client side; it undercounts what an HTTP upstream costs per stream (see the http run)."
      : `Provider: openai-type providers pointing at ${groups} standalone mock upstreams over HTTP, one route (model mock-N) each, ≤${Math.ceil(streams / groups)} streams per upstream: a provider's pool holds at most 4096 connections (config schema maximum), so one provider cannot carry more than 4096 concurrent streams. Two sockets per stream in Sluice.`,
    ...(capNote ? [capNote] : []),
    `One machine, ${machine.cores} cores shared by sluice bench (this process), the mock upstream(s) and Sluice; Sluice logging.level warn.`,
    'Memory per stream = (Sluice RSS at the peak − RSS after warm-up) / streams open at the peak; RSS from /proc/<pid>/status VmRSS, sampled once per second.',
    `Each stream: POST /v1/chat/completions, stream: true, max_tokens 8; the mock paces its 11 chunks at ${tps}/s from the request, so a stream stays open ~${round(streamSeconds, 1)} s.`,
  ];
  const out = {
    kind: 'sluice bench/streams',
    date: startedAt.toISOString(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    command: `node bench/streams.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...machine, fdLimit: fdLimits() },
    settings: { provider: opt.provider, streams, asked, ramp: opt.ramp, rate: round(rate, 1), upstreams: groups, tokensPerSecond: tps, maxTokens: MAX_TOKENS, streamSeconds, sourceAddresses: Number(opt['source-addresses']) },
    notes,
    summary,
    samples,
  };
  const fmt = (x) => (x.count === 0 ? 'no data' : `${round(x.p50, 1)} / ${round(x.p99, 1)} / ${round(x.max, 1)} ms`);
  const md = [
    `# bench/streams (${inprocess ? 'in-process provider' : 'HTTP upstream'}) — ${out.date.slice(0, 10)}`,
    '',
    `Command: \`${out.command}\` (${out.durationS} s). Raw numbers and per-second samples: the \`.json\` file next to this one.`,
    '',
    `- Machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGb} GB, Linux ${machine.kernel}, Node ${machine.node}; open-file limit ${fdLimit}; commit ${machine.commit}${machine.uncommittedChanges ? ` + ${machine.uncommittedChanges} uncommitted files` : ''}`,
    ...notes.map((n) => `- ${n}`),
    '',
    '| | |',
    '|---|---:|',
    `| streams opened (over ${opt.ramp}, ${round(rate, 0)}/s, from ${opt['source-addresses']} source addresses) | ${streams.toLocaleString('en-US')}${streams < asked ? ` (asked ${asked.toLocaleString('en-US')})` : ''} |`,
    `| **largest count held at once** | **${peak.openStreams.toLocaleString('en-US')}** (≥99% of it for ${held} s) |`,
    `| completed with [DONE] | ${ok.toLocaleString('en-US')} |`,
    `| errors | ${Object.keys(errors).length === 0 ? '0' : Object.entries(errors).map(([k, n]) => `${k} ${n}`).join(', ')} |`,
    `| Sluice RSS after warm-up | ${mb(baseline.sluiceRss)} MB |`,
    `| **Sluice RSS at the peak** | **${mb(peak.sluiceRss)} MB** (max seen ${mb(maxRss)} MB) |`,
    `| **memory per stream** | **${perStreamKb} kB** |`,
    `| Sluice open fds at the peak | ${peak.sluiceFds} |`,
    `| time to first token p50 / p99 / max (from the scheduled start) | ${fmt(summary.ttftMs)} |`,
    `| gap between tokens p50 / p99 / max | ${fmt(summary.interTokenMs)} |`,
    `| stream duration p50 / p99 / max | ${fmt(summary.streamDurationMs)} |`,
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (!opt['no-write']) {
    mkdirSync(opt.out, { recursive: true });
    const base = join(opt.out, `${isoDate(startedAt)}-streams${inprocess ? '-inprocess' : ''}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(`${base}.md`, md);
    log(`wrote ${base}.json and ${base}.md`);
  }
} finally {
  for (const c of children.reverse()) await c.stop('SIGTERM').catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
