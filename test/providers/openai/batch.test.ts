import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { batchApiOf } from '../../../src/providers/batch.js';
import { AzureOpenAIAdapter } from '../../../src/providers/azure/adapter.js';
import { azureOpenAIProviderSchema, compileAzureOpenAIProvider } from '../../../src/providers/azure/config.js';
import { OpenAIAdapter } from '../../../src/providers/openai/adapter.js';
import { usageOfAnswer } from '../../../src/providers/openai/batch.js';
import { compileOpenAIProvider, openaiProviderSchema } from '../../../src/providers/openai/config.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { Backend } from '../../helpers/backends.js';

/**
 * OpenAI's Files + Batch API as a provider batch API (issue 21), for `openai` and its Azure
 * copy: the paths, auth headers and models each sends, refusals as SluiceErrors with the
 * provider's status, a failed batch as a refusal, results from the output and error files.
 */

type Handler = (method: string, path: string, body: string, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('OpenAIBatchApi', () => {
  let handler: Handler = (_m, _p, _b, res) => json(res, 404, {});
  const upstream = new Backend('batch-api', (req, res, body) => handler(req.method ?? '', req.url ?? '', body, res));
  const pools = new UpstreamPools();

  before(async () => {
    await upstream.start();
  });
  after(async () => {
    await pools.close();
    await upstream.stop();
  });

  const openai = () => batchApiOf(new OpenAIAdapter(compileOpenAIProvider('up', openaiProviderSchema.parse({ type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: ['sk-first-0123456789', 'sk-second-0123456789'] })), pools))!;
  const azure = () =>
    batchApiOf(new AzureOpenAIAdapter(compileAzureOpenAIProvider('az', azureOpenAIProviderSchema.parse({ type: 'azure-openai', baseUrl: upstream.url, apiKey: 'azure-key-0123', deployments: { 'gpt-4o': 'batch-gpt4o' } })), pools))!;

  test('openai: uploads the JSONL, creates the batch with its tag, with the first key of the pool', async () => {
    upstream.seen.length = 0;
    handler = (method, path, _body, res) => {
      if (method === 'POST' && path === '/v1/files') return json(res, 200, { id: 'file-1', object: 'file' });
      if (method === 'POST' && path === '/v1/batches') return json(res, 200, { id: 'batch-1', object: 'batch', status: 'validating' });
      json(res, 404, {});
    };
    const api = openai();
    const body = api.prepare('/v1/chat/completions', { model: 'gpt-4o', messages: [], stream: true, stream_options: { include_usage: true } });
    assert.deepEqual(body, { model: 'gpt-4o', messages: [] });
    const ref = await api.submit('/v1/chat/completions', [{ customId: 'a', body }], 'batch_sluice_1', null);
    assert.deepEqual(ref, { id: 'batch-1', fileId: 'file-1' });
    const [upload, create] = upstream.seen;
    assert.match(String(upload!.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.match(upload!.body, /name="purpose"\r\n\r\nbatch\r\n/);
    assert.match(upload!.body, /\{"custom_id":"a","method":"POST","url":"\/v1\/chat\/completions","body":\{"model":"gpt-4o","messages":\[\]\}\}/);
    assert.deepEqual(JSON.parse(create!.body), { input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { sluice_batch_id: 'batch_sluice_1' } });
    for (const r of upstream.seen) assert.equal(r.headers.authorization, 'Bearer sk-first-0123456789');
  });

  test('azure: /openai paths with api-version, api-key header, the deployment as the model', async () => {
    upstream.seen.length = 0;
    handler = (method, path, _body, res) => {
      if (method === 'POST' && path === '/openai/files?api-version=2024-10-21') return json(res, 200, { id: 'file-a' });
      if (method === 'POST' && path === '/openai/batches?api-version=2024-10-21') return json(res, 200, { id: 'batch-a' });
      if (method === 'GET' && path === '/openai/batches/batch-a?api-version=2024-10-21') return json(res, 200, { id: 'batch-a', status: 'in_progress' });
      json(res, 404, { error: { message: `no ${path}` } });
    };
    const api = azure();
    assert.equal(api.prepare('/v1/chat/completions', { model: 'gpt-4o' }).model, 'batch-gpt4o');
    const ref = await api.submit('/v1/chat/completions', [{ customId: 'a', body: { model: 'batch-gpt4o' } }], 't', null);
    assert.deepEqual(await api.poll(ref), { status: 'in_progress', ended: false, refused: null, expired: false });
    for (const r of upstream.seen) {
      assert.equal(r.headers['api-key'], 'azure-key-0123');
      assert.equal(r.headers.authorization, undefined);
    }
  });

  test('a refusal is a SluiceError with the provider status and message; a failed batch is a refusal', async () => {
    handler = (method, path, _body, res) => {
      if (method === 'POST' && path === '/v1/files') return json(res, 200, { id: 'file-1' });
      if (method === 'POST' && path === '/v1/batches') return json(res, 400, { error: { message: 'Model not supported in batch', type: 'invalid_request_error' } });
      if (method === 'GET' && path === '/v1/batches/b-failed') return json(res, 200, { id: 'b-failed', status: 'failed', errors: { object: 'list', data: [{ code: 'invalid', message: 'Line 1: bad' }] } });
      json(res, 404, {});
    };
    const api = openai();
    await assert.rejects(api.submit('/v1/chat/completions', [{ customId: 'a', body: {} }], 't', null), (e: unknown) => e instanceof SluiceError && e.status === 400 && /Model not supported/.test(e.message));
    assert.deepEqual(await api.poll({ id: 'b-failed', fileId: null }), { status: 'failed', ended: true, refused: 'Line 1: bad', expired: false });
  });

  test('resuming: a batch found by its tag in the provider list is returned, none created', async () => {
    upstream.seen.length = 0;
    handler = (method, path, _body, res) => {
      if (method === 'GET' && path === '/v1/batches?limit=100') return json(res, 200, { object: 'list', data: [{ id: 'other', metadata: { sluice_batch_id: 'x' } }, { id: 'mine', input_file_id: 'file-9', metadata: { sluice_batch_id: 't' } }] });
      json(res, 500, {});
    };
    assert.deepEqual(await openai().submit('/v1/chat/completions', [{ customId: 'a', body: {} }], 't', 1), { id: 'mine', fileId: 'file-9' });
    assert.deepEqual(
      upstream.seen.map((r) => r.method),
      ['GET'],
    );
  });

  test('results: every line of the output and error files, with usage (chat, embeddings, responses)', async () => {
    handler = (_method, path, _body, res) => {
      if (path === '/v1/batches/b1') return json(res, 200, { id: 'b1', status: 'completed', output_file_id: 'out', error_file_id: 'err' });
      if (path === '/v1/files/out/content') {
        return json(res, 200, [
          JSON.stringify({ id: 'r1', custom_id: 'a', response: { status_code: 200, request_id: 'q1', body: { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } } }, error: null }),
          'not json',
          JSON.stringify({ id: 'r2', custom_id: 'b', response: { status_code: 200, request_id: 'q2', body: { usage: { input_tokens: 7, output_tokens: 1, input_tokens_details: { cached_tokens: 4 } } } }, error: null }),
        ].join('\n'));
      }
      if (path === '/v1/files/err/content') return json(res, 200, `${JSON.stringify({ id: 'r3', custom_id: 'c', response: null, error: { code: 'batch_expired', message: 'expired' } })}\n`);
      json(res, 404, {});
    };
    const results = await openai().results({ id: 'b1', fileId: null }, '/v1/chat/completions');
    assert.deepEqual(
      results.map((r) => [r.customId, r.status, r.requestId, r.error?.code ?? null, r.usage?.promptTokens ?? null]),
      [
        ['a', 200, 'q1', null, 3],
        ['b', 200, 'q2', null, 7],
        ['c', 0, '', 'batch_expired', null],
      ],
    );
    assert.deepEqual(usageOfAnswer({ input_tokens: 7, output_tokens: 1, input_tokens_details: { cached_tokens: 4 } }), { promptTokens: 7, cachedPromptTokens: 4, completionTokens: 1, totalTokens: 8 });
  });
});
