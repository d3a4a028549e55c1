import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { outputLines } from '../helpers/batches.js';
import { sendJson } from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Batches of every endpoint a batch may name (issue 21), against the built-in mock provider:
 * each line is answered in its endpoint's own shape (embeddings, the Responses API, Anthropic
 * Messages), `stream` in a line is ignored; the size limit of uploads; no database, no batches.
 */
describe('batch endpoints', () => {
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    gw = await startGateway({
      database: { embedded: 'memory' },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      files: { maxBytes: '2kb' },
      batches: { pollInterval: '20ms', leaseTtl: '5s' },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-any', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
  });

  async function runBatch(endpoint: '/v1/embeddings' | '/v1/responses' | '/v1/chat/completions', bodies: Record<string, unknown>[], url: string = endpoint): Promise<ReturnType<typeof outputLines>> {
    const jsonl = bodies.map((body, i) => JSON.stringify({ custom_id: `c${i}`, method: 'POST', url, body })).join('\n');
    const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), 'in.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: url as typeof endpoint, completion_window: '24h' });
    let done = batch;
    await waitFor(async () => {
      done = await client.batches.retrieve(batch.id);
      return done.status === 'completed';
    }, `the ${url} batch to complete`);
    assert.equal(done.request_counts?.completed, bodies.length, JSON.stringify(done));
    return outputLines(await (await client.files.content(done.output_file_id!)).text());
  }

  test('embeddings', async () => {
    const out = await runBatch('/v1/embeddings', [{ model: 'mock-embed', input: 'one' }, { model: 'mock-embed', input: ['two', 'three'] }]);
    assert.equal((out[0]!.response!.body.data as unknown[]).length, 1);
    assert.equal((out[1]!.response!.body.data as unknown[]).length, 2);
    assert.equal(out[1]!.response!.body.object, 'list');
  });

  test('the Responses API, a stream asked for in a line answered as JSON', async () => {
    const out = await runBatch('/v1/responses', [{ model: 'mock-1', input: 'hello', stream: true }]);
    assert.equal(out[0]!.response!.body.object, 'response');
    assert.equal(out[0]!.response!.body.status, 'completed');
  });

  test('Anthropic Messages, answered in Anthropic’s shape', async () => {
    const out = await runBatch('/v1/chat/completions', [{ model: 'mock-1', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }], '/v1/messages');
    assert.equal(out[0]!.response!.body.type, 'message');
    assert.equal(out[0]!.response!.body.role, 'assistant');
  });

  test('a file over files.maxBytes is refused with SLUICE_ERR_FILE_TOO_LARGE', async () => {
    const err = await client.files.create({ file: await toFile(Buffer.alloc(4096, 'x'), 'big.jsonl'), purpose: 'batch' }).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.status, 413);
    assert.equal((err.error as { code?: string }).code, 'SLUICE_ERR_FILE_TOO_LARGE');
    // Just under the limit is taken: the limit is the file's, not the multipart body's.
    const ok = await client.files.create({ file: await toFile(Buffer.alloc(2048, 'x'), 'fits.txt'), purpose: 'user_data' });
    assert.equal(ok.bytes, 2048);
  });
});

describe('without a database', () => {
  test('/v1/files and /v1/batches are the catalog’s 404', async () => {
    const gw = await startGateway({});
    try {
      for (const path of ['/v1/files', '/v1/batches']) {
        const r = await sendJson(gw.url, path);
        assert.equal(r.status, 404);
        assert.equal(r.json.error?.code, 'SLUICE_ERR_NOT_FOUND');
      }
    } finally {
      await gw.close();
    }
  });
});
