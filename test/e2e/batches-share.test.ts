import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { CountingUpstream, chatLines } from '../helpers/batches.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { chatBody, chatJson } from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-batch-share-0123456789abcdef';

/**
 * The batch share of a target's capacity (issue 21, `batches.share`): a target limited to 4
 * requests at once, a batch allowed 8 lines in flight, share 0.5. The upstream holds every
 * answer back, so what is in flight is what it holds: the batch takes 2 of the 4, and
 * interactive requests sent beside it are answered by the 2 left, without waiting for a batch
 * line to end. Nothing is timed: the test waits for what the upstream holds.
 */
describe('batch lines take at most batches.share of a target’s capacity', () => {
  let upstream: CountingUpstream;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    upstream = await new CountingUpstream().start();
    gw = await startGateway({
      database: { embedded: 'memory' },
      auth: { required: true },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      keys: [{ name: 'k', key: KEY }],
      providers: { up: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      routes: [{ match: 'gpt-test', targets: [{ provider: 'up', maxConcurrent: 4 }], queue: { maxDepth: 100, timeout: '60s' } }],
      batches: { concurrency: 8, pollInterval: '20ms', leaseTtl: '5s', share: 0.5 },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  after(async () => {
    upstream.release();
    await gw.close();
    await upstream.stop();
  });

  test('with the batch holding its share, interactive requests get the rest at once', async () => {
    upstream.hold = true;
    const file = await client.files.create({ file: await toFile(Buffer.from(chatLines(12)), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(() => upstream.held === 2, 'the batch at its share (2 of 4)');

    const interactive = [chatJson({ url: gw.url }, chatBody('gpt-test', 'now-1'), { bearer: KEY }), chatJson({ url: gw.url }, chatBody('gpt-test', 'now-2'), { bearer: KEY })];
    await waitFor(() => upstream.held === 4, 'the interactive requests at the upstream beside the batch');
    const batchHeld = upstream.heldTexts.filter((t) => t.startsWith('line-'));
    assert.equal(batchHeld.length, 2, `batch lines in flight: ${upstream.heldTexts.join(', ')}`);
    assert.deepEqual(upstream.heldTexts.filter((t) => t.startsWith('now-')).sort(), ['now-1', 'now-2']);

    upstream.release();
    for (const reply of await Promise.all(interactive)) assert.equal(reply.status, 200);
    let done = await client.batches.retrieve(batch.id);
    await waitFor(async () => {
      done = await client.batches.retrieve(batch.id);
      return done.status === 'completed';
    }, 'the batch to complete');
    assert.deepEqual(done.request_counts, { total: 12, completed: 12, failed: 0 });
  });
});
