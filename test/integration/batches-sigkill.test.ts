import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { openDatabase } from '../../src/db/index.js';
import { CountingUpstream, chatLines, outputLines } from '../helpers/batches.js';
import { exitCode, killChildren, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-batch-kill-0123456789abcdef';
const CONCURRENCY = 4;

/**
 * A batch survives a SIGKILL of the gateway running it (issue 21): the gateway (a child
 * process, SQLite in a data folder) is killed with lines in flight, another is started on the
 * same folder, and the batch completes. The upstream counts what it is sent: no line whose
 * result was recorded before the kill is sent again; only the lines in flight at the kill
 * (at most the concurrency) may be sent twice.
 */
describe('a batch survives a SIGKILL of its gateway', () => {
  let dir: string;
  let upstream: CountingUpstream;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-batch-kill-'));
    upstream = await new CountingUpstream().start();
  });
  after(async () => {
    killChildren();
    upstream.release();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('killed mid-batch, restarted on the same data folder: completes, no recorded line sent twice', async () => {
    const dataDir = join(dir, 'data');
    const config = join(dir, 'sluice.yaml');
    writeFileSync(
      config,
      [
        `database: { dataDir: "${dataDir}" }`,
        'usage: { enabled: false }',
        'admin: { tokens: ["admin-token-0123456789abcdef"] }',
        'auth: { required: true }',
        `keys: [{ name: k, key: "${KEY}" }]`,
        `providers: { up: { type: openai, baseUrl: "${upstream.url}/v1" } }`,
        'routes: [{ match: "gpt-*", targets: [{ provider: up }] }]',
        `batches: { concurrency: ${CONCURRENCY}, pollInterval: 50ms, leaseTtl: 1s }`,
        '',
      ].join('\n'),
    );
    const first = await startCli(config);
    const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(Buffer.from(chatLines(200)), 'input.jsonl'), purpose: 'batch' });
    // Progress, not time, decides when to kill: after 60 answers the upstream holds what comes
    // next, so lines are in flight (sent, unanswered) at the kill.
    const seen = (): number => upstream.total;
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => seen() >= 60, '60 lines at the upstream');
    upstream.hold = true;
    await waitFor(async () => (await client.batches.retrieve(batch.id)).request_counts!.completed >= 60, '60 results recorded');
    await waitFor(() => upstream.held >= 1, 'a line in flight');
    first.child.kill('SIGKILL');
    assert.equal(await exitCode(first.child), null, 'killed by a signal, not exited');

    // What was recorded before the kill: these lines must never reach the upstream again.
    const db = await openDatabase({ url: null, dataDir, poolSize: 1, statementTimeoutMs: 5_000 });
    let recorded: string[];
    try {
      recorded = (await db.query<{ custom_id: string }>("SELECT custom_id FROM batch_lines WHERE state = 'done'")).map((r) => r.custom_id);
    } finally {
      await db.close();
    }
    assert.ok(recorded.length >= 60 && recorded.length < 200, `${recorded.length} lines recorded before the kill`);
    const inFlight = upstream.held;
    upstream.release();

    const second = await startCli(config);
    const again = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: KEY, maxRetries: 0 });
    let done = await again.batches.retrieve(batch.id);
    await waitFor(async () => {
      done = await again.batches.retrieve(batch.id);
      return done.status === 'completed';
    }, 'the batch to complete on the second gateway', 60_000);
    assert.deepEqual(done.request_counts, { total: 200, completed: 200, failed: 0 });
    const output = outputLines(await (await again.files.content(done.output_file_id!)).text());
    assert.deepEqual(output.map((l) => l.custom_id).sort(), Array.from({ length: 200 }, (_, i) => `req-${i}`).sort());

    for (const id of recorded) assert.equal(upstream.counts.get(`line-${id.slice(4)}`), 1, `${id} was recorded before the kill and sent again`);
    const twice = upstream.twice();
    assert.ok(twice.length <= CONCURRENCY, `${twice.length} lines sent twice: ${twice.join(', ')}`);
    assert.ok(twice.length <= inFlight, 'only lines in flight at the kill were sent again');
    for (let i = 0; i < 200; i++) assert.ok((upstream.counts.get(`line-${i}`) ?? 0) >= 1, `line-${i} never sent`);
    second.child.kill('SIGTERM');
    assert.equal(await exitCode(second.child), 0);
  });
});
