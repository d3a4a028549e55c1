import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { chatLines, outputLines } from '../helpers/batches.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { OpenAIBatchProvider } from '../helpers/provider-batches.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-passthrough-pg-0123456789ab';

/**
 * Batch pass-through on PostgreSQL (issue 21; migration 8): two gateways share one database
 * and both poll provider batches (FOR UPDATE SKIP LOCKED on provider_batches). A batch created
 * on one becomes one provider batch, is polled by either, and completes with its results and
 * usage records (batch price) once, whichever instance read them.
 */
describe('batch pass-through with two instances on one PostgreSQL', () => {
  let pg: PostgresServer;
  let provider: OpenAIBatchProvider;
  let one: TestGateway;
  let two: TestGateway;
  let dir: string;

  before(async () => {
    pg = await startPostgres();
    provider = await new OpenAIBatchProvider().start();
    dir = mkdtempSync(join(tmpdir(), 'sluice-passthrough-pg-'));
    const config = (name: string): Record<string, unknown> => ({
      database: { url: pg.url },
      usage: { spoolDir: join(dir, name), flushInterval: '20ms' },
      auth: { required: true },
      keys: [{ name: 'k', key: KEY }],
      providers: { up: { type: 'openai', baseUrl: `${provider.url}/v1`, apiKey: 'sk-up-0123456789abcdef' } },
      routes: [{ match: 'gpt-4o-mini', targets: [{ provider: 'up' }] }],
      batches: { pollInterval: '20ms', leaseTtl: '5s', passthrough: ['up'], passthroughPoll: '20ms' },
    });
    one = await startGateway(config('one'));
    two = await startGateway(config('two'));
  });

  after(async () => {
    await one?.close();
    await two?.close();
    await provider.stop();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one provider batch, polled by both instances, completed once with usage at the batch price', async () => {
    const client = new OpenAI({ baseURL: `${one.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(Buffer.from(chatLines(30, () => 'gpt-4o-mini')), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => provider.created === 1, 'the provider batch');
    const polls = provider.polls;
    await waitFor(() => provider.polls >= polls + 4, 'polls while the provider works');
    provider.finish(String(provider.only().batch.id));
    const other = new OpenAI({ baseURL: `${two.url}/v1`, apiKey: KEY, maxRetries: 0 });
    let done = await other.batches.retrieve(batch.id);
    await waitFor(async () => {
      done = await other.batches.retrieve(batch.id);
      return done.status === 'completed';
    }, 'the batch to complete');
    assert.deepEqual(done.request_counts, { total: 30, completed: 30, failed: 0 });
    const output = outputLines(await (await other.files.content(done.output_file_id!)).text());
    assert.deepEqual(output.map((l) => l.custom_id).sort(), Array.from({ length: 30 }, (_, i) => `req-${i}`).sort());
    assert.equal(provider.created, 1);

    const db = one.gateway.database!;
    const rows = await db.query<{ n: string; cost: string }>('SELECT count(*) AS n, sum(cost_usd) AS cost FROM usage_records WHERE batch_id = $1', [batch.id]);
    assert.equal(Number(rows[0]!.n), 30, 'one usage record per line, stored once');
    // gpt-4o-mini: (10 × 0.15 + 5 × 0.6) / 1e6 = $4.5e-6 a line at list price; half in a batch.
    assert.ok(Math.abs(Number(rows[0]!.cost) - 30 * 2.25e-6) < 1e-9, `cost ${rows[0]!.cost}`);
    const state = await db.query<{ state: string }>('SELECT state FROM provider_batches WHERE batch_id = $1', [batch.id]);
    assert.equal(state[0]!.state, 'done');
  });
});
