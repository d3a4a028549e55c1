#!/usr/bin/env node
// bench/surfaces-cpu: the gateway's CPU per request for each client surface, in one run (issue 18).
//
// One build's Gateway runs in this process, the standalone mock in a child. Short batches of
// requests alternate between the request kinds below, so every kind sees the same noise; a
// batch's CPU (this process, user + system) over its requests, minus the same for requests to
// the mock directly (the load client's own share), is the gateway's CPU per request, and each
// kind's ratio to the chat-completions path is taken batch by batch.
//
//   node bench/surfaces-cpu.mjs [--batches 30] [--batch 300] [--concurrency 16] [--kinds responses,chat-stream]
//
// Kinds (the mock answers every one; usage off, no keys, no limits):
//   chat                  POST /v1/chat/completions, JSON, to an openai-type provider
//   chat-stream           the same, "stream": true
//   messages-passthrough  POST /v1/messages to an anthropic-type provider: passed through as sent
//   messages-pass-stream  the same, streamed
//   messages-translated   POST /v1/messages to the openai-type provider: translated both ways
//   responses             POST /v1/responses ("store": false), translated to chat
//   responses-stream      the same, streamed: chat chunks become Responses events
// `--batches 1 --batch 50` is a smoke run of a few seconds.
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { ROOT, cpuBatch, quantile, startGatewayInProcess } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '30' },
    batch: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
    // A comma-separated subset of the kinds (direct and chat always run: the ratios need them).
    kinds: { type: 'string', default: '' },
  },
});
const concurrency = Number(opt.concurrency);

const { spawn } = await import('node:child_process');
const mock = spawn(process.execPath, [`${ROOT}/dist/src/cli/main.js`, 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok) => mock.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) ok(m[1]); }));

const raw = {
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'warn' },
  usage: { enabled: false },
  providers: { oa: { type: 'openai', baseUrl: mockUrl, connections: 256 }, an: { type: 'anthropic', baseUrl: mockUrl, apiKey: 'sk-ant-bench', connections: 256 } },
  routes: [
    { match: 'claude-bench', targets: [{ provider: 'an' }] },
    { match: '*', targets: [{ provider: 'oa' }] },
  ],
};
const { gateway, origin } = await startGatewayInProcess(ROOT, raw, 'surfaces-cpu');

const messages = [{ role: 'user', content: 'Say hello.' }];
const json = (path, body, extra = {}) => ({ path, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...extra } });
const anthropicHeaders = { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-client' };
const kinds = [
  { name: 'direct', origin: new URL(mockUrl).origin, ...json('/v1/chat/completions', { model: 'mock-1', messages }) },
  { name: 'chat', origin, ...json('/v1/chat/completions', { model: 'mock-1', messages }) },
  { name: 'chat-stream', origin, ...json('/v1/chat/completions', { model: 'mock-1', messages, stream: true }) },
  { name: 'messages-passthrough', origin, ...json('/v1/messages', { model: 'claude-bench', max_tokens: 64, messages }, anthropicHeaders) },
  { name: 'messages-pass-stream', origin, ...json('/v1/messages', { model: 'claude-bench', max_tokens: 64, messages, stream: true }, anthropicHeaders) },
  { name: 'messages-translated', origin, ...json('/v1/messages', { model: 'mock-1', max_tokens: 64, messages }, anthropicHeaders) },
  { name: 'responses', origin, ...json('/v1/responses', { model: 'mock-1', input: 'Say hello.', store: false }) },
  { name: 'responses-stream', origin, ...json('/v1/responses', { model: 'mock-1', input: 'Say hello.', store: false, stream: true }) },
];
const only = new Set(['direct', 'chat', ...opt.kinds.split(',').map((x) => x.trim()).filter((x) => x !== '')]);
if (only.size > 2) kinds.splice(0, kinds.length, ...kinds.filter((k) => only.has(k.name)));
for (const k of kinds) {
  k.pool = new Pool(k.origin, { connections: concurrency });
  k.samples = [];
}

/** µs of this process's CPU per request over `n` requests of kind `k`. */
const batch = (k, n) => cpuBatch(k.pool, k, n, concurrency);

const fmt = (v, d = 1) => v.toFixed(d);
try {
  for (const k of kinds) await batch(k, Math.max(1500, Number(opt.batch))); // JIT and connections warm
  for (let b = 0; b < Number(opt.batches); b++) {
    for (const k of b % 2 === 0 ? kinds : [...kinds].reverse()) k.samples.push(await batch(k, Number(opt.batch)));
  }
  const direct = kinds[0].samples;
  const chat = kinds[1].samples;
  console.log(`${opt.batches} batches of ${opt.batch} requests per kind, concurrency ${concurrency}, alternating.\n`);
  console.log('| kind | µs CPU/request (median, client included) | q25–q75 | gateway share (minus direct) | ÷ chat, paired by batch (median, q25–q75) |\n|---|---:|---:|---:|---:|');
  for (const k of kinds) {
    const ratios = k.samples.map((x, i) => (x - direct[i]) / (chat[i] - direct[i]));
    const ratio = k.name === 'direct' ? '' : `${fmt(quantile(ratios, 0.5), 2)} (${fmt(quantile(ratios, 0.25), 2)}–${fmt(quantile(ratios, 0.75), 2)})`;
    console.log(`| ${k.name} | ${fmt(quantile(k.samples, 0.5))} | ${fmt(quantile(k.samples, 0.25))}–${fmt(quantile(k.samples, 0.75))} | ${fmt(quantile(k.samples, 0.5) - quantile(direct, 0.5))} | ${ratio} |`);
  }
} finally {
  for (const k of kinds) await k.pool.close();
  await gateway.shutdown(1000);
  mock.kill();
}
