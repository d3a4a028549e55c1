#!/usr/bin/env node
// bench/usage-ship-cpu: CPU per usage record shipped by a running gateway into its embedded
// database (in memory), the spool's read and seal included: 1,000 requests through the
// gateway (mock provider), then `usage.drain()` alone is measured (this process's CPU, all
// threads). Six rounds; the median is the figure.
//
//   node bench/usage-ship-cpu.mjs [BUILD]    (BUILD: a checkout with node_modules and dist; default this one)
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { ROOT } from './lib.mjs';

const root = resolve(process.argv[2] ?? ROOT);
const { compileConfig } = await import(`${root}/dist/src/config/compile.js`);
const { validateConfig } = await import(`${root}/dist/src/config/load.js`);
const { createLogger } = await import(`${root}/dist/src/observability/logger.js`);
const { Gateway } = await import(`${root}/dist/src/gateway/gateway.js`).catch(() => import(`${root}/dist/src/server/app.js`));
const { Pool } = await import(`${root}/node_modules/undici/index.js`);
const raw = {
  server: { host: '127.0.0.1', port: 0 },
  logging: { level: 'warn' },
  usage: { enabled: true, spoolDir: join(tmpdir(), `sluice-ship-cpu-${process.pid}`), flushInterval: '1h' },
  database: { embedded: 'memory' },
  providers: { mock: { type: 'mock' } },
  routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
};
const gateway = await Gateway.create(compileConfig(validateConfig(raw, 'bench', {}), 'bench'), { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })) });
const { url } = await gateway.listen();
const pool = new Pool(url, { connections: 16 });
const BODY = '{"messages":[{"role":"user","content":"Say hello."}],"model":"mock-1"}';
async function send(n) {
  let started = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (started++ < n) {
        const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: BODY });
        await res.body.dump();
      }
    }),
  );
}
await send(2000);
await gateway.usage.drain(); // warm-up
const samples = [];
for (let k = 0; k < 6; k++) {
  await send(1000);
  const before = process.cpuUsage();
  await gateway.usage.drain();
  const used = process.cpuUsage(before);
  samples.push((used.user + used.system) / 1000);
}
samples.sort((a, b) => a - b);
console.log(`${root}: µs CPU per shipped record, 6 rounds of 1,000: ${samples.map((x) => x.toFixed(0)).join(' ')}; median ${samples[3].toFixed(0)}; stored ${gateway.usage.stats.stored}`);
await pool.close();
await gateway.shutdown(1000);
process.exit(0);
