/**
 * The cost of what listens to 'request:end', per finished request: the metrics subscriber,
 * and the request log line through pino with each redaction setting (none; the fixed paths
 * used now; the wildcard paths used before, which pino evaluates by walking the object).
 *
 *   npm run build && node dist/bench/request-end.js [--json]
 */
import os from 'node:os';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { compileConfig } from '../src/config/compile.js';
import { validateConfig } from '../src/config/load.js';
import { EventBus } from '../src/observability/events.js';
import { redactPaths } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { attachRequestLog } from '../src/observability/request-log.js';
import { RequestContext } from '../src/exchange/context.js';
import { summarize } from '../src/exchange/summary.js';

const ITERATIONS = 100_000;
const ROUNDS = 5;
const wildcardPaths = [...redactPaths, '*.apiKey', '*.api_key'];

const config = compileConfig(validateConfig({ providers: { p: { type: 'mock' } }, routes: [{ match: 'gpt-4o', targets: [{ provider: 'p', model: 'gpt-4o' }] }] }, 'bench', {}), 'bench');
const route = config.routes[0]!;
const ctx = new RequestContext('0f8fad5b-d9cb-469f-a165-70867728950e', 'chat', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, route, 0);
ctx.target = route.targets[0]!;
ctx.status = 200;
ctx.firstByteAt = 3.2;
ctx.endedAt = 5.1;
ctx.upstreamMs = 2.9;
ctx.usage = { promptTokens: 12, cachedPromptTokens: 0, completionTokens: 40, totalTokens: 52 };

const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
const logger = (paths: string[] | null): Logger => pino({ level: 'info', base: { service: 'sluice' }, ...(paths === null ? {} : { redact: { paths, censor: '[redacted]' } }) }, sink);

function bus(setup: (b: EventBus) => void): EventBus {
  const b = new EventBus();
  setup(b);
  return b;
}
const always = { sampleRate: 1, random: Math.random };
const cases: [string, EventBus][] = [
  ['the summary alone (built and published, no subscriber)', bus(() => {})],
  ['metrics subscriber', bus((b) => new Metrics(b))],
  ['request log line, no redaction', bus((b) => attachRequestLog(b, logger(null), always))],
  [`request log line, fixed redact paths (${redactPaths.length}, current)`, bus((b) => attachRequestLog(b, logger(redactPaths), always))],
  [`request log line, with 2 wildcard paths (${wildcardPaths.length}, before)`, bus((b) => attachRequestLog(b, logger(wildcardPaths), always))],
];

const results: { case: string; nsPerRequest: number }[] = [];
for (const [name, b] of cases) {
  for (let i = 0; i < 20_000; i++) b.emit('request:end', summarize(ctx)); // warm up the JIT
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) b.emit('request:end', summarize(ctx));
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
  rounds.sort((x, y) => x - y);
  results.push({ case: name, nsPerRequest: Math.round(rounds[Math.floor(ROUNDS / 2)]!) });
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}`;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ machine, iterations: ITERATIONS, rounds: ROUNDS, results }, null, 2));
} else {
  console.log(`request:end subscriber cost (median of ${ROUNDS} rounds × ${ITERATIONS} requests), ${machine}\n`);
  console.log('| subscriber | per request |\n|---|---|');
  for (const r of results) console.log(`| ${r.case} | ${(r.nsPerRequest / 1000).toFixed(2)} µs |`);
}
