#!/usr/bin/env node
// bench/spool-read: what shipping a usage spool segment costs the event loop before the
// database sees it. Each round appends N usage records (a realistic 719-byte line), seals the
// segment and reads it as the writer does: once with the memory budget at 0 (every segment read
// back from its file: a synchronous read, UTF-8 decode and split, as every segment was before
// the spool kept the lines it wrote) and once with the default budget (read from memory).
//
//   npm run build && node bench/spool-read.mjs [--lines 5000] [--rounds 40]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib.mjs';

const { values: opt } = parseArgs({ options: { lines: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '40' } } });
const lines = Number(opt.lines);
const rounds = Number(opt.rounds);
const { Spool } = await import(pathToFileURL(join(ROOT, 'dist/src/accounting/spool.js')).href);
const record = JSON.stringify({ id: '0193f1c2-aaaa-7bbb-8ccc-0123456789ab', request_id: '3b241101-e2bb-4255-8caf-4136c566a962', started_at: '2026-12-03T23:00:00.000Z', principal: 'key:3b241101-e2bb-4255-8caf-4136c566a962', key_id: '3b241101-e2bb-4255-8caf-4136c566a962', user_id: null, tier: 'free', route: 'default', endpoint: 'chat', stream: false, provider: 'mock', model: 'mock-1', target_model: 'mock-1', fallback_model: null, status: 200, error_code: null, client_gone: false, latency_ms: 3.21, ttfb_ms: 3.1, upstream_ms: 2.5, prompt_tokens: 12, completion_tokens: 30, cached_prompt_tokens: 0, estimated: false, cost_usd: 0.00001, cache: 'miss', retries: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 0, batch_id: null });

for (const [name, memoryBytes] of [['read back from the file', 0], ['kept in memory (default)', undefined]]) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-spool-read-'));
  const spool = new Spool(dir, 'never', memoryBytes === undefined ? {} : { memoryBytes });
  const ms = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < lines; i++) spool.append(record);
    await spool.seal();
    const path = spool.sealed[0];
    const started = performance.now();
    const read = spool.read(path);
    ms.push(performance.now() - started);
    if (read.lines.length !== lines) throw new Error(`read ${read.lines.length} lines of ${lines}`);
    spool.remove(path);
  }
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  process.stdout.write(`${name}: a ${lines}-line segment (${((record.length + 1) * lines / 1e6).toFixed(1)} MB) in ${mean.toFixed(2)} ms mean, ${ms[Math.floor(ms.length / 2)].toFixed(2)} median, ${ms.at(-1).toFixed(2)} max; ${((mean * 1e6) / lines).toFixed(0)} ns a record\n`);
}
