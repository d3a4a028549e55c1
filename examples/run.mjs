#!/usr/bin/env node
// Runs a seed system's scenario on Sluice (issue 22):
//
//   node examples/run.mjs <system> [--full]
//
// <system> is one of the folders here with a scenario.mjs. It starts the system's stand-ins,
// mock providers and Sluice (from dist/: `npm run build` first) on loopback, drives the
// design's workload, checks every behaviour and target, prints a table of the checks with
// their figures, and exits 1 when one failed (2 for a usage error). The short mode (the
// default) runs in seconds and is part of `npm test`; --full is the benchmark.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI, Checks } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const systems = readdirSync(HERE, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(HERE, d.name, 'scenario.mjs')))
  .map((d) => d.name)
  .sort();

const args = process.argv.slice(2);
const full = args.includes('--full');
const names = args.filter((a) => a !== '--full');
if (names.length !== 1 || !systems.includes(names[0]) || args.some((a) => a.startsWith('-') && a !== '--full')) {
  process.stderr.write(`usage: node examples/run.mjs <system> [--full]\nsystems: ${systems.join(', ')}\n`);
  process.exit(2);
}
if (!existsSync(CLI)) {
  process.stderr.write(`${CLI} is missing: run "npm run build" first\n`);
  process.exit(2);
}

const scenario = await import(pathToFileURL(join(HERE, names[0], 'scenario.mjs')).href);
const checks = new Checks(full);
const started = Date.now();
try {
  await scenario.run({ full, checks });
} catch (err) {
  checks.add('scenario ran to its end', false, err instanceof Error ? err.message.split('\n')[0] : String(err));
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
}
checks.print(`${scenario.title} — ${full ? 'full' : 'short'} run, ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(checks.failed.length === 0 ? 0 : 1);
