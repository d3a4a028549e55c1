/**
 * The cost of scrubbing credentials (issue 15): `Redactor.scrub` on a typical request log line
 * (no credential: the common case) and on an upstream error message that echoes a key, with
 * few and many configured secrets; and the request log line through pino with and without the
 * logger's scrubbing hook.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/redactor.js [--json]
 */
import os from 'node:os';
import { Writable } from 'node:stream';
import { compileConfig } from '../src/config/compile.js';
import { validateConfig } from '../src/config/load.js';
import { Redactor } from '../src/lib/redactor.js';
import { EventBus } from '../src/observability/events.js';
import { createLogger } from '../src/observability/logger.js';
import { attachRequestLog } from '../src/observability/request-log.js';
import { RequestContext } from '../src/exchange/context.js';
import { summarize } from '../src/exchange/summary.js';

const ITERATIONS = 20_000;
const ROUNDS = 5;

const secrets = (n: number): string[] => Array.from({ length: n }, (_, i) => `sk-config-key-${i.toString(36).padStart(6, '0')}-0123456789abcdef`);
const logLine =
  '{"level":30,"time":1764720000000,"service":"sluice","reqId":"0f8fad5b-d9cb-469f-a165-70867728950e","endpoint":"chat","model":"gpt-4o","route":"gpt-4o","provider":"p","stream":false,"status":200,"code":null,"clientGone":false,"principal":"key:config:client","tier":"default","retries":0,"cache":null,"fallback":null,"ms":5.1,"ttfbMs":3.2,"upstreamMs":2.9,"tokens":{"prompt":12,"completion":40},"msg":"request"}';
const echoed = `Upstream 401: Incorrect API key provided: ${secrets(1)[0]!}. You can find your API key at https://platform.openai.com/account/api-keys.`;

function time(fn: () => void): number {
  for (let i = 0; i < 10_000; i++) fn(); // warm up the JIT
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
  rounds.sort((x, y) => x - y);
  return Math.round(rounds[Math.floor(ROUNDS / 2)]!);
}

const results: { case: string; ns: number }[] = [];
let sinkhole = 0;
for (const n of [5, 100, 1000]) {
  const r = new Redactor(secrets(n));
  results.push({ case: `scrub: request log line, no credential (${n} secrets)`, ns: time(() => (sinkhole += r.scrub(logLine).length)) });
  results.push({ case: `scrub: upstream 401 echoing a key (${n} secrets)`, ns: time(() => (sinkhole += r.scrub(echoed).length)) });
}

const config = compileConfig(validateConfig({ keys: [{ name: 'client', key: secrets(1)[0]! }], providers: { p: { type: 'mock' } }, routes: [{ match: 'gpt-4o', targets: [{ provider: 'p', model: 'gpt-4o' }] }] }, 'bench', {}), 'bench');
const route = config.routes[0]!;
const ctx = new RequestContext('0f8fad5b-d9cb-469f-a165-70867728950e', 'chat', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, route, 0);
ctx.target = route.targets[0]!;
ctx.status = 200;
ctx.endedAt = 5.1;
const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
for (const [name, redactor] of [['request log line, logger without scrubbing', undefined], ['request log line, logger with scrubbing (current)', config.redactor]] as const) {
  const bus = new EventBus();
  attachRequestLog(bus, createLogger('info', sink, redactor), { sampleRate: 1, random: Math.random });
  results.push({ case: name, ns: time(() => bus.emit('request:end', summarize(ctx))) });
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}`;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ machine, iterations: ITERATIONS, rounds: ROUNDS, results }, null, 2));
} else {
  console.log(`Redactor cost (median of ${ROUNDS} rounds × ${ITERATIONS} calls), ${machine}\n`);
  console.log('| case | per call |\n|---|---|');
  for (const r of results) console.log(`| ${r.case} | ${(r.ns / 1000).toFixed(2)} µs |`);
}
if (sinkhole === -1) console.log('');
