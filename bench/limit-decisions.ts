/**
 * Limit decisions per second per instance, with the in-memory store and with a real Redis,
 * and the latency one decision adds. A decision is what the admit stage does for a typical
 * principal: two rules (rpm and tpm) consumed in one call.
 *
 *   npm run build && node dist/bench/limit-decisions.js   (needs redis-server on PATH)
 */
import os from 'node:os';
import { systemClock } from '../src/lib/clock.js';
import { createStateStore, type StateStore } from '../src/stores/index.js';
import type { LimitRule } from '../src/stores/types.js';
import { startRedis } from '../test/helpers/redis.js';

const DURATION_MS = 3_000;
const CONCURRENCY = [1, 64];

function rules(i: number): LimitRule[] {
  // Many principals, as in real traffic, each with generous limits so every call is a full decision.
  const key = `bench:${i % 10_000}`;
  return [
    { key: `${key}:rpm`, limit: 1_000_000, windowMs: 60_000, burst: 1_000_000 },
    { key: `${key}:tpm`, limit: 100_000_000, windowMs: 60_000, burst: 100_000_000 },
  ];
}

async function run(store: StateStore, concurrency: number): Promise<{ perSecond: number; p50us: number; p99us: number }> {
  const latencies: number[] = [];
  let n = 0;
  const end = performance.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const i = n++;
        const t0 = performance.now();
        await store.consume(rules(i), [1, 500]);
        latencies.push((performance.now() - t0) * 1000);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSecond: Math.round(n / (DURATION_MS / 1000)), p50us: Math.round(latencies[Math.floor(latencies.length * 0.5)]!), p99us: Math.round(latencies[Math.floor(latencies.length * 0.99)]!) };
}

const redis = await startRedis();
const stores: [string, StateStore][] = [
  ['memory', createStateStore({ clock: systemClock })],
  ['redis', createStateStore({ clock: systemClock, redis: { mode: 'standalone', url: redis.url }, timeoutMs: 1000 })],
];
console.log(`limit decisions (2 rules each), ${DURATION_MS / 1000} s per cell, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, redis-server on loopback\n`);
console.log('| store | in flight | decisions/s | p50 | p99 |\n|---|---|---|---|---|');
for (const [name, store] of stores) {
  await run(store, 1); // warm up
  for (const c of CONCURRENCY) {
    const r = await run(store, c);
    console.log(`| ${name} | ${c} | ${r.perSecond.toLocaleString('en')} | ${r.p50us} µs | ${r.p99us} µs |`);
  }
  await store.close();
}
await redis.stop();
