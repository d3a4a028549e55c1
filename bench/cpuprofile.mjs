#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, self
// time by package, and self time charged to the innermost Sluice function on the stack (what
// node core and the libraries spend on each Sluice function's behalf), so "where does the
// gateway spend its CPU" is one table.
//   node bench/cpuprofile.mjs FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a script belongs: a package under node_modules, node's own code, Sluice, or V8. */
function packageOf(url) {
  if (url === '') return '(v8 / native)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/src/');
  if (dist !== -1) return `sluice ${url.slice(dist + 10).split('/')[0]}/`;
  return url;
}

/**
 * `window` ({ fromUs, toUs } on the monotonic clock of process.hrtime, shared by every process
 * on Linux) keeps only the samples taken under load, leaving out start-up and shutdown.
 */
export function summarizeProfile(path, top = 20, window = null) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node: each sample's time delta goes to the node sampled.
  const self = new Map();
  const { samples, timeDeltas } = profile;
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (window !== null && (t < window.fromUs || t > window.toUs)) continue;
    const dt = timeDeltas[i + 1] ?? 0; // the delta after a sample is the time it stood for
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const pkgs = new Map();
  let idleUs = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const file = callFrame.url ? basename(callFrame.url.replace(/^file:\/\//, '')) : '';
    const key = `${name} ${file}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    const pkg = ['(garbage collector)', '(program)'].includes(name) ? name : packageOf(callFrame.url.replace(/^file:\/\//, ''));
    fns.set(key, { fn: name, where: file ? `${file}:${callFrame.lineNumber + 1}` : '', pkg, us: (fns.get(key)?.us ?? 0) + us });
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us) => Math.round((us / busyUs) * 1000) / 10;
  // The same time charged to the innermost Sluice function on each sample's stack, so that
  // what node core and the libraries do on Sluice's behalf (a write, a parse) is seen where
  // Sluice asked for it. Samples with no Sluice frame keep their own function.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callers = new Map();
  for (const [id, us] of self) {
    const own = byId.get(id).callFrame;
    if (own.functionName === '(idle)') continue;
    let at = id;
    while (at !== undefined && packageOf(byId.get(at).callFrame.url.replace(/^file:\/\//, '')).startsWith('sluice ') === false) at = parent.get(at);
    const frame = at === undefined ? own : byId.get(at).callFrame;
    const file = frame.url ? basename(frame.url.replace(/^file:\/\//, '')) : '';
    const key = `${at === undefined ? '(no Sluice frame) ' : ''}${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
    callers.set(key, (callers.get(key) ?? 0) + us);
  }
  return {
    file: basename(path),
    sampledMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    idlePct: Math.round((idleUs / totalUs) * 1000) / 10,
    topFunctions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.fn, where: f.where, package: f.pkg, selfMs: Math.round(f.us / 1000), selfPctOfBusy: pct(f.us) })),
    bySluiceCaller: [...callers.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([caller, us]) => ({ caller, selfMs: Math.round(us / 1000), selfPctOfBusy: pct(us) })),
    byPackage: [...pkgs.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([pkg, us]) => ({ package: pkg, selfMs: Math.round(us / 1000), selfPctOfBusy: pct(us) })),
  };
}

export function formatProfile(s) {
  const lines = [`${s.file}: ${s.busyMs} ms busy of ${s.sampledMs} ms sampled (${s.idlePct}% idle)`, '', 'self time by package (% of busy):'];
  for (const p of s.byPackage.slice(0, 12)) lines.push(`  ${String(p.selfPctOfBusy).padStart(5)}%  ${p.package}`);
  lines.push('', 'top functions by self time (% of busy):');
  for (const f of s.topFunctions) lines.push(`  ${String(f.selfPctOfBusy).padStart(5)}%  ${f.function}  ${f.where}  [${f.package}]`);
  lines.push('', 'self time charged to the innermost Sluice function on the stack (% of busy):');
  for (const c of s.bySluiceCaller) lines.push(`  ${String(c.selfPctOfBusy).padStart(5)}%  ${c.caller}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, flag, n] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/cpuprofile.mjs FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, flag === '--top' ? Number(n) : 20)));
}
