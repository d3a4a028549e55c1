#!/usr/bin/env node
// Counts the source files and folder crossings one JSON chat request runs through, from the
// socket to the upstream and back (issue 17; docs/architecture.md). Usage, after a build:
//
//   node scripts/path-count.mjs [root] [--service] [--cors]
//
// root: a checkout with dist/ built (default: this one). --service counts one GET to an HTTP
// service instead (the mock upstream as its instance); --cors turns `server.cors` on (which
// sent model requests through fastify before issue 17).
//
// Method: a gateway from <root>/dist runs in this process, the mock upstream in a child process
// (so its files do not count). After three warm-up requests, V8's precise coverage
// (node:inspector, Profiler.startPreciseCoverage with callCount) is reset, one chat completion
// is sent and answered, and coverage is taken again: a file counts when one of its functions
// ran during that request. A folder crossing is a value import (the compiled JS, so type-only
// imports are gone) from one such file to another in a different folder of src/.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const service = args.includes('--service');
const cors = args.includes('--cors');
const root = resolve(args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const src = join(root, 'dist', 'src');
const { compileConfig } = await import(`${src}/config/compile.js`);
const { validateConfig } = await import(`${src}/config/load.js`);
const { createLogger } = await import(`${src}/observability/logger.js`);
const { Gateway } = await import(`${src}/gateway/gateway.js`).catch(() => import(`${src}/server/app.js`));
const { request } = await import(`${root}/node_modules/undici/index.js`);

const mock = spawn(process.execPath, [`${src}/cli/main.js`, 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok) => mock.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) ok(m[1]); }));
// Whatever fails below, the mock goes with this process.
process.on('exit', () => mock.kill());
process.on('uncaughtException', (err) => { console.error(err); process.exit(1); });
process.on('unhandledRejection', (err) => { console.error(err); process.exit(1); });
const raw = {
  server: { host: '127.0.0.1', port: 0, ...(cors ? { cors: { origins: ['https://app.example.com'] } } : {}) },
  logging: { level: 'warn' },
  usage: { enabled: false },
  providers: { mock: { type: 'openai', baseUrl: mockUrl } },
  routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
  ...(service ? { services: [{ name: 'api', match: { pathPrefix: '/api/' }, rewrite: { replacePrefix: '/v1/' }, instances: [{ url: new URL(mockUrl).origin }] }] } : {}),
};
const gateway = await Gateway.create(compileConfig(validateConfig(raw, 'path-count', {}), 'path-count'), { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })) });
const { url } = await gateway.listen();
const origin = cors ? { origin: 'https://app.example.com' } : {};
const chat = async () => {
  const res = service
    ? await request(`${url}/api/models`, { headers: origin })
    : await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...origin }, body: '{"model":"mock-1","messages":[{"role":"user","content":"Say hello."}]}' });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${text}`);
};
for (let i = 0; i < 3; i++) await chat();

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
await session.post('Profiler.takePreciseCoverage');
await chat();
const { result } = await session.post('Profiler.takePreciseCoverage');
await session.post('Profiler.stopPreciseCoverage');
session.disconnect();
await gateway.shutdown(1000);
mock.kill();

const prefix = pathToFileURL(src).href + '/';
const ran = new Set();
const framework = new Set();
for (const script of result) {
  if (!script.functions.some((f) => f.ranges[0].count > 0)) continue;
  if (script.url.startsWith(prefix)) ran.add(fileURLToPath(script.url));
  else if (/\/node_modules\/(fastify|@fastify|find-my-way|avvio|light-my-request)\//.test(script.url)) framework.add(script.url.replace(/^.*\/node_modules\//, ''));
}
const files = [...ran].map((f) => relative(src, f)).sort();
const folderOf = (f) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : '.');
const crossings = [];
for (const f of files) {
  const text = readFileSync(join(src, f), 'utf8');
  for (const m of text.matchAll(/^import\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
    const target = relative(src, resolve(dirname(join(src, f)), m[1]));
    if (ran.has(join(src, target)) && folderOf(target) !== folderOf(f)) crossings.push(`${f.replace(/\.js$/, '.ts')} -> ${target.replace(/\.js$/, '.ts')}`);
  }
}
const folders = [...new Set(files.map(folderOf))].sort();
console.log(`root: ${root}${service ? ' (a service request)' : ' (a JSON chat request)'}${cors ? ', CORS on' : ''}`);
console.log(`source files whose functions ran: ${files.length}`);
for (const f of files) console.log(`  ${f.replace(/\.js$/, '.ts')}`);
console.log(`folders: ${folders.length} (${folders.join(', ')})`);
console.log(`folder crossings (value imports between those files across folders): ${crossings.length}`);
for (const c of crossings) console.log(`  ${c}`);
console.log(`fastify modules whose functions ran: ${framework.size}`);
for (const f of [...framework].sort()) console.log(`  ${f}`);
