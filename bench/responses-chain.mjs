#!/usr/bin/env node
// bench/responses-chain: what a long Responses API conversation costs the gateway as it grows.
// One conversation of N turns (each continuing the last with previous_response_id, about 1 KB of
// input a turn) through `sluice start` on its embedded SQLite (on disk) and the built-in mock;
// prints the data folder's size after it and the mean time of a turn at the start and the end.
//
//   node bench/responses-chain.mjs [--turns 300] [--build DIR ...]
//
// --build (repeatable) names checkouts with dist/ built (default: this one), run one after the
// other on the same conversation, so a change to how responses are stored is measured side by
// side, e.g. a build before it unpacked with `git archive <commit> | tar -x -C /tmp/base`,
// node_modules linked and `npx tsc -p tsconfig.json` run there.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { ROOT } from './lib.mjs';

const { values: opt } = parseArgs({ options: { turns: { type: 'string', default: '300' }, build: { type: 'string', multiple: true, default: [] } } });
const turns = Number(opt.turns);
if (!Number.isInteger(turns) || turns < 2) throw new Error('--turns must be an integer of 2 or more');
const builds = opt.build.length === 0 ? [ROOT] : opt.build.map((b) => resolve(b));
const filler = 'lorem ipsum '.repeat(80);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const build of builds) {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-chain-'));
  try {
    const config = join(tmp, 'config.json');
    writeFileSync(config, JSON.stringify({ server: { host: '127.0.0.1' }, logging: { level: 'warn' }, database: { dataDir: join(tmp, 'data') }, usage: { spoolDir: join(tmp, 'spool') }, providers: { mock: { type: 'mock' } }, routes: [{ match: '*', targets: [{ provider: 'mock', model: 'mock-1' }] }] }));
    // The build's own lib starts the build's own dist.
    const lib = await import(pathToFileURL(join(build, 'bench/lib.mjs')).href);
    const sluice = await lib.startSluice('sluice', config);
    const ms = [];
    let previous = null;
    try {
      for (let i = 0; i < turns; i++) {
        const started = performance.now();
        const res = await request(`${sluice.url}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-1', input: `turn ${i}: ${filler}`, ...(previous === null ? {} : { previous_response_id: previous }) }) });
        const body = await res.body.json();
        if (res.statusCode !== 200) throw new Error(`turn ${i}: ${res.statusCode} ${JSON.stringify(body)}`);
        ms.push(performance.now() - started);
        previous = body.id;
      }
    } finally {
      await sluice.stop();
    }
    const dir = join(tmp, 'data');
    const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const edge = Math.min(20, Math.floor(turns / 2));
    process.stdout.write(`${build}: ${turns} turns; data folder ${(bytes / 1e6).toFixed(1)} MB; mean ms a turn: first ${edge} ${mean(ms.slice(0, edge)).toFixed(1)}, last ${edge} ${mean(ms.slice(-edge)).toFixed(1)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
