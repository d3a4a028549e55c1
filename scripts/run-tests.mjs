#!/usr/bin/env node
// Runs every compiled test file with node's test runner. Node 20 does not expand globs in
// `node --test` arguments, so the file list is collected here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const only = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && (only.length === 0 || only.some((o) => path.includes(o)))) files.push(path);
  }
})(root);
if (files.length === 0) {
  console.error(`no test files found under ${root}`);
  process.exit(1);
}
// A test that hangs fails after 2 minutes instead of holding CI until its limit.
// Files run three at a time: most of a file's time is spent waiting on the servers it starts
// (redis-server, PostgreSQL, child gateways), so three overlap well even on two cores, one of
// them busy (CI). SLUICE_TEST_CONCURRENCY overrides it (1 runs the files one by one).
const concurrency = Number(process.env.SLUICE_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`SLUICE_TEST_CONCURRENCY must be a positive integer, got ${process.env.SLUICE_TEST_CONCURRENCY}`);
  process.exit(1);
}
const args = [
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=120000',
  '--enable-source-maps',
  ...files,
];
const res = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
process.exit(res.status ?? 1);
