#!/usr/bin/env node
// bench/request-path: which source files one request runs through, and how often it crosses
// from one folder to another on its way (issue 17 asks for both, before and after).
//
// Runs a gateway of this build (or of the build at --root DIR) in this process, the mock
// upstream in a child, and V8's precise coverage (node:inspector, Profiler.startPreciseCoverage
// with call counts) on this process. After one warm-up request of each kind, it measures one
// JSON chat request and one streamed chat request:
//
//   1. which functions ran: coverage taken right after the request (and what it left to do
//      once answered: usage, logs, metrics) — exact, every function with a call count > 0;
//   2. in which order they were entered: the same request sent again with a logpoint (a
//      breakpoint whose condition records the function and returns false, so nothing pauses)
//      at the start of each function found in 1 — exact order of function entries.
//
// From 2 it derives the folder sequence and counts its crossings. Markdown on stdout.
//
//   node bench/request-path.mjs [--root DIR] [--pipeline minimal|full|service] [--log-level info]
//
// Build first (npx tsc -p tsconfig.json, in --root too). The numbers are about code shape,
// not time: this is not a benchmark and takes a few seconds.
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    root: { type: 'string', default: ROOT },
    pipeline: { type: 'string', default: 'minimal' },
    'log-level': { type: 'string', default: 'info' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write('usage: node bench/request-path.mjs [--root BUILD] [--pipeline minimal|full|service] [--log-level info]\n');
  process.exit(0);
}
if (!['minimal', 'full', 'service'].includes(opt.pipeline)) throw new Error(`--pipeline: minimal, full or service, got ${opt.pipeline}`);
const root = resolve(opt.root);
const srcDir = resolve(root, 'dist/src');
const srcUrl = `${pathToFileURL(srcDir).href}/`;
const KEY = 'sk-bench-0123456789abcdef';
const benchUrl = `${pathToFileURL(resolve(ROOT, 'bench')).href}/`; // this script and its helpers

// Coverage and the debugger first, so every gateway module is compiled while they are on.
const session = new Session();
session.connect();
const scripts = new Map(); // scriptId → url
session.on('Debugger.scriptParsed', ({ params }) => {
  if (params.url.startsWith('file://')) scripts.set(params.scriptId, params.url);
});
await session.post('Debugger.enable');
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

const { startGatewayInProcess } = await import('./lib.mjs');

const mock = spawn(process.execPath, [resolve(root, 'dist/src/cli/main.js'), 'mock', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const mockUrl = await new Promise((ok, fail) => {
  mock.once('exit', (code) => fail(new Error(`the mock exited (${code})`)));
  mock.stdout.on('data', (d) => {
    const m = /listening on (\S+)/.exec(String(d));
    if (m) ok(m[1]);
  });
});
const mockOrigin = new URL(mockUrl).origin;

const base = { server: { host: '127.0.0.1', port: 0 }, logging: { level: opt['log-level'] }, usage: { enabled: false } };
const modelRoute = { providers: { mock: { type: 'openai', baseUrl: mockUrl } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }] };
const configs = {
  minimal: { ...base, ...modelRoute },
  // bench/compare's full pipeline, less usage accounting (its writes are batched, not per request).
  full: { ...base, ...modelRoute, keys: [{ name: 'bench', key: KEY, tier: 'bench' }], tiers: { bench: { limits: { rpm: 100000000, tpm: 100000000 } } }, routes: [{ match: '*', cache: { ttl: '5m', anyTemperature: true }, targets: [{ provider: 'mock' }] }] },
  service: { ...base, services: [{ name: 'api', match: { pathPrefix: '/v1/chat/completions' }, instances: [{ url: mockOrigin }] }] },
};
const headers = { 'content-type': 'application/json', ...(opt.pipeline === 'full' ? { authorization: `Bearer ${KEY}`, 'cache-control': 'no-cache' } : {}) };
const { gateway, origin } = await startGatewayInProcess(root, configs[opt.pipeline], 'request-path');

// One keep-alive connection for every request: the measured ones reuse the warm-up's socket.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const bodies = {
  json: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'Say hello.' }] }),
  stream: JSON.stringify({ model: 'mock-1', stream: true, messages: [{ role: 'user', content: 'Say hello.' }] }),
};

/**
 * One request with node:http (so no dependency's code on the client side is counted), read to
 * the end; then a pause for what the gateway does once it answered.
 */
async function send(kind) {
  const res = await new Promise((ok, fail) => {
    const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST', headers, agent }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => ok({ statusCode: r.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', fail);
    });
    req.on('error', fail);
    req.end(bodies[kind]);
  });
  const text = res.text;
  if (res.statusCode !== 200) throw new Error(`${kind}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  if (kind === 'stream' && !text.includes('data: [DONE]')) throw new Error('stream: no [DONE]');
  await sleep(100);
}

/** Functions of this build's src that ran since the last take (call count > 0). */
async function takeRan() {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const ran = [];
  const packages = new Map();
  for (const script of result) {
    for (const fn of script.functions) {
      const count = fn.ranges[0]?.count ?? 0;
      if (count === 0) continue;
      if (script.url.startsWith(srcUrl)) {
        // Top-level module code (no name, the whole script) ran at import, not for the request.
        if (fn.functionName === '' && fn.ranges[0].startOffset === 0) continue;
        ran.push({ scriptId: script.scriptId, url: script.url, file: srcPath(script.url), name: fn.functionName || '(anonymous)', start: fn.ranges[0].startOffset, end: fn.ranges[0].endOffset, count });
      } else if (script.url.startsWith('file://') && !script.url.startsWith(benchUrl)) {
        const pkg = packageOf(script.url);
        packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
      }
    }
  }
  return { ran, packages };
}

/** `src/<folder>/<file>.ts` for a compiled file of the build. */
function srcPath(url) {
  return `src/${relative(srcDir, fileURLToPath(url)).split(sep).join('/').replace(/\.js$/, '.ts')}`;
}
const folderOf = (file) => (file.lastIndexOf('/') === 3 ? 'src' : file.slice(4, file.lastIndexOf('/')));
function packageOf(url) {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m ? m[1] : 'other';
}

const sources = new Map();
async function sourceOf(scriptId) {
  if (!sources.has(scriptId)) sources.set(scriptId, (await session.post('Debugger.getScriptSource', { scriptId })).scriptSource);
  return sources.get(scriptId);
}
function location(scriptId, source, offset) {
  let line = 0;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { scriptId, lineNumber: line, columnNumber: offset - lineStart };
}

/**
 * Sends the request again with a logpoint at the first breakable location of each function in
 * `ran`: the condition appends the function's index to a global list and is false, so the
 * program never pauses. Returns the functions in the order they were entered.
 */
async function entryOrder(kind, ran) {
  const ids = [];
  const trace = [];
  globalThis.__sluiceRequestPath = trace;
  for (let i = 0; i < ran.length; i++) {
    const fn = ran[i];
    const source = await sourceOf(fn.scriptId);
    const { locations } = await session.post('Debugger.getPossibleBreakpoints', { start: location(fn.scriptId, source, fn.start), end: location(fn.scriptId, source, fn.end), restrictToFunction: true });
    if (locations.length === 0) continue;
    const { breakpointId } = await session.post('Debugger.setBreakpoint', { location: locations[0], condition: `(globalThis.__sluiceRequestPath.push(${i}), false)` });
    ids.push(breakpointId);
  }
  await send(kind);
  for (const breakpointId of ids) await session.post('Debugger.removeBreakpoint', { breakpointId });
  delete globalThis.__sluiceRequestPath;
  return { order: trace.map((i) => ran[i]), placed: ids.length };
}

/** Collapses consecutive repeats: [a, a, b, a] → [a, b, a]. */
const runs = (xs) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);

async function measure(kind) {
  await takeRan(); // reset the counters
  await send(kind);
  const { ran, packages } = await takeRan();
  const { order, placed } = await entryOrder(kind, ran);
  const files = new Map();
  for (const fn of ran) {
    const f = files.get(fn.file) ?? { file: fn.file, folder: folderOf(fn.file), functions: 0, calls: 0, first: Infinity };
    f.functions++;
    f.calls += fn.count;
    files.set(fn.file, f);
  }
  order.forEach((fn, i) => {
    const f = files.get(fn.file);
    f.first = Math.min(f.first, i);
  });
  const byFirst = [...files.values()].sort((a, b) => a.first - b.first || a.file.localeCompare(b.file));
  const folders = new Map();
  for (const f of byFirst) {
    const g = folders.get(f.folder) ?? { folder: f.folder, files: 0, functions: 0 };
    g.files++;
    g.functions += f.functions;
    folders.set(f.folder, g);
  }
  const folderSeq = runs(order.map((fn) => folderOf(fn.file)));
  const fileSeq = runs(order.map((fn) => fn.file));
  const edges = new Map();
  for (let i = 1; i < folderSeq.length; i++) {
    const e = `${folderSeq[i - 1]} → ${folderSeq[i]}`;
    edges.set(e, (edges.get(e) ?? 0) + 1);
  }
  return { kind, ran, packages, placed, order, byFirst, folders: [...folders.values()], folderSeq, fileSeq, edges };
}

function report(m) {
  const out = [];
  const title = m.kind === 'json' ? 'One JSON chat request' : 'One streamed chat request';
  out.push(`## ${title}`, '');
  out.push(`- src files whose functions ran: **${m.byFirst.length}**, in **${m.folders.length}** folders (${m.ran.length} functions, ${m.ran.reduce((a, f) => a + f.count, 0)} calls)`);
  out.push(`- folder crossings in function-entry order: **${m.folderSeq.length - 1}** (file changes: ${m.fileSeq.length - 1}; distinct folder-to-folder steps: ${m.edges.size})`);
  out.push(`- function entries recorded: ${m.order.length} (logpoints placed in ${m.placed} of ${m.ran.length} functions)`);
  out.push(`- dependencies' functions that ran: ${[...m.packages.entries()].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`).join(', ')}`);
  out.push('', '| folder | files | functions run |', '|---|---:|---:|');
  for (const f of m.folders) out.push(`| ${f.folder} | ${f.files} | ${f.functions} |`);
  out.push('', 'Files in the order first entered (functions run, calls):', '');
  for (const f of m.byFirst) out.push(`1. \`${f.file}\` (${f.functions}, ${f.calls})`);
  out.push('', 'Folder sequence (consecutive entries in the same folder collapsed):', '', '```', wrap(m.folderSeq.join(' → ')), '```');
  out.push('', '| step between folders | times |', '|---|---:|');
  for (const [e, n] of [...m.edges.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) out.push(`| ${e} | ${n} |`);
  out.push('');
  return out.join('\n');
}

function wrap(text, width = 100) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > width && line !== '') {
      lines.push(line);
      line = '';
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

try {
  await send('json'); // warm-up: lazy initialisation and first-use paths are not the request's
  await send('stream');
  const json = await measure('json');
  const stream = await measure('stream');
  let commit = '?';
  try {
    const { execFileSync } = await import('node:child_process');
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const lines = [
    `# Request path: ${opt.pipeline} pipeline`,
    '',
    `Build: \`${root}\` (commit ${commit}), node ${process.version}. Gateway in this process, mock upstream in a child; logging.level ${opt['log-level']} into a discarding sink.`,
    `Request: POST /v1/chat/completions \`${bodies.json}\`${opt.pipeline === 'full' ? ' with a key and Cache-Control: no-cache (key auth, limits, the cache miss path)' : ''}${opt.pipeline === 'service' ? ', forwarded by an HTTP service (services[]) to the mock' : ''}; the streamed one adds \`"stream": true\`.`,
    '',
    report(json),
    report(stream),
    '## Method and limits',
    '',
    '- **Files**: V8 precise coverage (`Profiler.startPreciseCoverage({ callCount: true, detailed: true })` through `node:inspector`, started before any gateway module was loaded), counters reset right before the request and taken 100 ms after its last byte was read, so work done after the answer (request log, metrics, usage) is counted. A function counts when its call count is above 0. One warm-up request of each kind ran before, so one-time initialisation is not counted. Exact, but for this process only: the mock runs in a child and is not counted; anything else the process did in that window (a timer) would be.',
    '- **Order and crossings**: the same request is sent again with a logpoint at the first breakable location of every function found above (a breakpoint whose condition records the function and returns false: nothing pauses). That gives every function *entry* in order. Crossings are changes of folder between consecutive entries. Returns are not entries: going back to a caller is seen only when the caller then enters another function of its own folder, and a callee that calls into a third folder counts as one crossing to it, whoever the caller was. A function inlined by the optimiser still hits its logpoint (V8 deoptimises functions with breakpoints). Promise continuations are not entries either: code after an `await` resumes without a new entry.',
    '- Folders are paths under `src/` (`policies/admit`, not `policies`). Dependencies (fastify, undici, pino …) are counted by package only (functions that ran, not files); Node\'s own modules are not counted. The client is `node:http` in this process on one keep-alive connection, so no dependency code of the client is counted.',
    '- Compare builds with the same pipeline, log level and Node version: the counts describe code shape, not time.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await session.post('Profiler.stopPreciseCoverage').catch(() => undefined);
  session.disconnect();
  await gateway.shutdown(1000);
  agent.destroy();
  mock.kill();
}
