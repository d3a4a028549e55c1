import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { openDatabase } from '../../src/db/index.js';
import { chatLines, outputLines } from '../helpers/batches.js';
import { exitCode, killChildren, startCli } from '../helpers/cli.js';
import { OpenAIBatchProvider } from '../helpers/provider-batches.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-passthrough-kill-0123456789';

/**
 * A batch passed through to its provider's batch API (issue 21) survives a SIGKILL of the
 * gateway carrying it: the gateway (a child process, SQLite in a data folder) is killed with a
 * poll of the provider in flight, or while the provider is creating the batch and before its
 * id is stored; another gateway on the same folder takes the provider batch over once the
 * lease ran out and finishes it. The provider counts the batches it created: one each time.
 */
describe('a passed-through batch survives a SIGKILL of its gateway', () => {
  let dir: string;
  let provider: OpenAIBatchProvider;
  let n = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-passthrough-kill-'));
    provider = await new OpenAIBatchProvider().start();
  });
  after(async () => {
    killChildren();
    provider.release();
    await provider.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(): string {
    const path = join(dir, `sluice-${++n}.yaml`);
    writeFileSync(
      path,
      [
        `database: { dataDir: "${join(dir, `data-${n}`)}" }`,
        'usage: { enabled: false }',
        'admin: { tokens: ["admin-token-0123456789abcdef"] }',
        'auth: { required: true }',
        `keys: [{ name: k, key: "${KEY}" }]`,
        `providers: { up: { type: openai, baseUrl: "${provider.url}/v1", apiKey: "sk-up-0123456789abcdef" } }`,
        'routes: [{ match: "gpt-test", targets: [{ provider: up }] }]',
        'batches: { pollInterval: 50ms, leaseTtl: 1s, passthrough: [up], passthroughPoll: 50ms }',
        '',
      ].join('\n'),
    );
    return path;
  }

  async function providerState(dataDir: string): Promise<{ state: string; provider_batch_id: string | null }> {
    const db = await openDatabase({ url: null, dataDir, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      return (await db.query<{ state: string; provider_batch_id: string | null }>('SELECT state, provider_batch_id FROM provider_batches'))[0]!;
    } finally {
      await db.close();
    }
  }

  async function finishOn(file: string, batchId: string, providerBatchId: string): Promise<void> {
    const second = await startCli(file);
    const again = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const polls = provider.polls;
    // The second gateway polls the same provider batch once the first one's lease ran out.
    await waitFor(() => provider.polls > polls, 'a poll from the second gateway', 30_000);
    provider.finish(providerBatchId);
    let done = await again.batches.retrieve(batchId);
    await waitFor(async () => {
      done = await again.batches.retrieve(batchId);
      return done.status === 'completed';
    }, 'the batch to complete on the second gateway', 60_000);
    assert.deepEqual(done.request_counts, { total: 20, completed: 20, failed: 0 });
    const output = outputLines(await (await again.files.content(done.output_file_id!)).text());
    assert.deepEqual(output.map((l) => l.custom_id).sort(), Array.from({ length: 20 }, (_, i) => `req-${i}`).sort());
    second.child.kill('SIGTERM');
    assert.equal(await exitCode(second.child), 0);
  }

  test('killed mid-poll: the next gateway polls the same provider batch, no second one is created', async () => {
    provider.batches.clear();
    const created = provider.created;
    const file = config();
    const first = await startCli(file);
    const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const input = await client.files.create({ file: await toFile(Buffer.from(chatLines(20)), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => provider.created === created + 1, 'the provider batch');
    provider.holdPolls = true;
    await waitFor(() => provider.held.length >= 1, 'a poll in flight');
    first.child.kill('SIGKILL');
    assert.equal(await exitCode(first.child), null, 'killed by a signal, not exited');
    provider.release();
    const state = await providerState(join(dir, `data-${n}`));
    assert.equal(state.state, 'running');
    const upId = String(provider.only().batch.id);
    assert.equal(state.provider_batch_id, upId);

    await finishOn(file, batch.id, upId);
    assert.equal(provider.created, created + 1, 'one provider batch in all');
  });

  test('killed while the provider was creating the batch: the next gateway finds it by its metadata instead of creating another', async () => {
    provider.batches.clear();
    const created = provider.created;
    const file = config();
    const first = await startCli(file);
    const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const input = await client.files.create({ file: await toFile(Buffer.from(chatLines(20)), 'input.jsonl'), purpose: 'batch' });
    provider.holdCreate = true;
    const batch = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => provider.held.length === 1, 'the creation in flight');
    first.child.kill('SIGKILL');
    assert.equal(await exitCode(first.child), null);
    provider.release();
    const state = await providerState(join(dir, `data-${n}`));
    assert.equal(state.state, 'submitting');
    assert.equal(state.provider_batch_id, null, 'the provider id was never stored');

    await finishOn(file, batch.id, String(provider.only().batch.id));
    assert.equal(provider.created, created + 1, 'the batch the first gateway created was found, not created again');
  });
});
