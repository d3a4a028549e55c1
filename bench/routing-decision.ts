/**
 * The cost of one routing decision: what the dispatch stage does per request before it
 * calls a provider — filter the targets in rotation, let the strategy pick, admit (breaker
 * and capacity gate), and settle afterwards. Routes of 2, 10 and 100 targets, per strategy.
 *
 *   npm run build && node dist/bench/routing-decision.js [--json]
 */
import os from 'node:os';
import { compileConfig } from '../src/config/compile.js';
import { validateConfig } from '../src/config/load.js';
import { systemClock } from '../src/lib/clock.js';
import type { ProviderAdapter } from '../src/providers/types.js';
import { RouteRuntime } from '../src/routing/route-runtime.js';
import type { TargetState } from '../src/routing/target-state.js';

const strategies = ['failover', 'weighted', 'least-busy', 'latency', 'cost', 'region'] as const;
const sizes = [2, 10, 100];
const ITERATIONS = 200_000;
const ROUNDS = 5;

const adapter: ProviderAdapter = { name: 'p', type: 'mock', send: () => Promise.reject(new Error('not called')), close: () => Promise.resolve() };

function runtime(strategy: string, n: number): RouteRuntime {
  const targets = Array.from({ length: n }, (_, i) => ({
    provider: 'p',
    model: `m-${i}`,
    weight: 1 + (i % 3),
    region: i % 2 === 0 ? 'eu' : 'us',
    maxConcurrent: 1_000_000,
    price: { input: 1 + (i % 7), output: 2 + (i % 5) },
  }));
  const config = compileConfig(validateConfig({ providers: { p: { type: 'mock' } }, routes: [{ match: 'm', strategy, targets }] }, 'bench', {}), 'bench');
  return new RouteRuntime(config.routes[0]!, new Map([['p', adapter]]), new Map(), systemClock, () => {});
}

/** One decision, as DispatchStage#choose and #attempt do it. */
function decide(rt: RouteRuntime, request: { promptTokens: number; maxTokens: number; region: string | null }): void {
  const now = systemClock.monotonic();
  let candidates = rt.targets.filter((c) => c.available(now));
  for (;;) {
    const pick = rt.strategy.pick(candidates, request) as TargetState;
    const admission = pick.tryAdmit(request.promptTokens);
    if (typeof admission !== 'string') {
      admission.finish('success', request.promptTokens + 10);
      return;
    }
    candidates = candidates.filter((c) => c !== pick);
  }
}

const results: { strategy: string; targets: number; nsPerDecision: number }[] = [];
for (const strategy of strategies) {
  for (const n of sizes) {
    const rt = runtime(strategy, n);
    const request = { promptTokens: 200, maxTokens: 256, region: 'us' };
    for (let i = 0; i < 20_000; i++) decide(rt, request); // warm up the JIT
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < ITERATIONS; i++) decide(rt, request);
      rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
    }
    rounds.sort((a, b) => a - b);
    results.push({ strategy, targets: n, nsPerDecision: Math.round(rounds[Math.floor(ROUNDS / 2)]!) });
  }
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ machine, iterations: ITERATIONS, rounds: ROUNDS, results }, null, 2));
} else {
  console.log(`routing decision cost (median of ${ROUNDS} rounds × ${ITERATIONS} decisions), ${machine}\n`);
  console.log(`| strategy | 2 targets | 10 targets | 100 targets |\n|---|---|---|---|`);
  for (const strategy of strategies) {
    const row = sizes.map((n) => results.find((r) => r.strategy === strategy && r.targets === n)!.nsPerDecision / 1000);
    console.log(`| ${strategy} | ${row.map((us) => `${us.toFixed(2)} µs`).join(' | ')} |`);
  }
}
