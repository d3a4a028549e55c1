import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BENCH_HELP } from '../../src/cli/bench.js';
import { PROFILE_NAMES } from '../../src/bench/stages.js';

const doc = readFileSync(new URL('../../../docs/bench.md', import.meta.url), 'utf8');

test('docs/bench.md mentions every flag of sluice bench --help', () => {
  const flags = new Set(BENCH_HELP.match(/--[a-z][a-z-]+/g) ?? []);
  flags.delete('--help');
  assert.ok(flags.size > 20);
  for (const flag of flags) assert.ok(doc.includes(`\`${flag}`), `docs/bench.md does not document ${flag}`);
});

test('docs/bench.md documents every profile and every error kind', () => {
  for (const name of PROFILE_NAMES) assert.ok(doc.includes(`| \`${name}\` |`), name);
  const errorsSource = readFileSync(new URL('../../../src/bench/errors.ts', import.meta.url), 'utf8');
  const kinds = ['timeout', 'connect_timeout', 'connection_refused', 'connection_reset', 'connection_closed', 'no_ports', 'fd_limit', 'body_timeout', 'body_broken', 'stream_timeout', 'stream_broken', 'stream_error_event', 'stream_truncated', 'bad_response', 'unfinished', 'other'];
  for (const k of kinds) {
    assert.ok(doc.includes(`\`${k}\``), `docs/bench.md does not document the error kind ${k}`);
    assert.ok(errorsSource.includes(k), `src/bench/errors.ts does not mention ${k}`);
  }
});
