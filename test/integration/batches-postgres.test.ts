import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { CountingUpstream, chatLines, outputLines } from '../helpers/batches.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-batch-pg-0123456789abcdef';
const CONCURRENCY = 4;

/**
 * Two gateways on one PostgreSQL share one batch's lines (issue 21): the batch is created on
 * the first, the second claims lines too (FOR UPDATE SKIP LOCKED), and every line reaches the
 * upstream exactly once. Each gateway reaches the upstream under its own path prefix, so the
 * upstream can tell who sent what.
 */
describe('two instances on one PostgreSQL share a batch', () => {
  let pg: PostgresServer;
  let upstream: CountingUpstream;
  let one: TestGateway;
  let two: TestGateway;

  before(async () => {
    pg = await startPostgres();
    upstream = await new CountingUpstream().start();
    const config = (name: string): Record<string, unknown> => ({
      database: { url: pg.url },
      auth: { required: true },
      keys: [{ name: 'k', key: KEY }],
      providers: { up: { type: 'openai', baseUrl: `${upstream.url}/${name}/v1` } },
      routes: [{ match: 'gpt-*', targets: [{ provider: 'up' }] }],
      batches: { concurrency: CONCURRENCY, pollInterval: '20ms', leaseTtl: '5s' },
    });
    [one, two] = await Promise.all([startGateway(config('one')), startGateway(config('two'))]);
  });

  after(async () => {
    upstream.release();
    await one?.close();
    await two?.close();
    await upstream.stop();
    await pg?.stop();
  });

  test('both run lines of a batch created on one of them; each line runs once', async () => {
    const client = new OpenAI({ baseURL: `${one.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const from = (prefix: string): number => upstream.seen.filter((r) => r.url.startsWith(prefix)).length;
    // Answers are held until both instances have their full share in flight: the first can
    // hold only `concurrency` lines, so the rest must have been claimed by the second.
    upstream.hold = true;
    const file = await client.files.create({ file: await toFile(Buffer.from(chatLines(200)), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => from('/one/') === CONCURRENCY && from('/two/') === CONCURRENCY, 'both instances at their concurrency');
    upstream.release();
    let done = batch;
    await waitFor(async () => {
      done = await client.batches.retrieve(batch.id);
      return done.status === 'completed';
    }, 'the batch to complete', 60_000);
    assert.deepEqual(done.request_counts, { total: 200, completed: 200, failed: 0 });
    assert.equal(upstream.total, 200);
    assert.deepEqual(upstream.twice(), []);
    assert.ok(from('/two/') >= CONCURRENCY && from('/one/') >= CONCURRENCY, `one ran ${from('/one/')}, two ran ${from('/two/')}`);
    // The other instance reads the same batch and files.
    const other = new OpenAI({ baseURL: `${two.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const output = outputLines(await (await other.files.content(done.output_file_id!)).text());
    assert.equal(output.length, 200);
    assert.equal(new Set(output.map((l) => l.custom_id)).size, 200);
  });
});
