import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { AnthropicAdapter } from '../../../src/providers/anthropic/adapter.js';
import { anthropicProviderSchema, compileAnthropicProvider } from '../../../src/providers/anthropic/config.js';
import { batchApiOf } from '../../../src/providers/batch.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { Backend } from '../../helpers/backends.js';

/**
 * Anthropic's Message Batches as a provider batch API (issue 21): requests translated (or
 * passed as they are for /v1/messages), the lost creation found again by time and size,
 * results of every type mapped back.
 */

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('AnthropicBatchApi', () => {
  let handler: (method: string, path: string, res: ServerResponse) => void = (_m, _p, res) => json(res, 404, {});
  const upstream = new Backend('message-batches', (req, res) => handler(req.method ?? '', req.url ?? '', res));
  const pools = new UpstreamPools();
  before(async () => {
    await upstream.start();
  });
  after(async () => {
    await pools.close();
    await upstream.stop();
  });
  const api = () => batchApiOf(new AnthropicAdapter(compileAnthropicProvider('claude', anthropicProviderSchema.parse({ type: 'anthropic', baseUrl: `${upstream.url}/v1`, apiKey: 'sk-ant-first-0123', defaultMaxTokens: 64 })), pools, () => 1_700_000_000_000))!;

  test('prepare: a chat completion becomes a Messages request; a /v1/messages body goes as it is, without stream', () => {
    assert.deepEqual(api().prepare('/v1/chat/completions', { model: 'claude-x', messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }], stream: true }), {
      model: 'claude-x',
      max_tokens: 64,
      system: 's',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.deepEqual(api().prepare('/v1/messages', { model: 'claude-x', max_tokens: 5, messages: [], stream: true }), { model: 'claude-x', max_tokens: 5, messages: [] });
  });

  test('resuming: a batch created since then with as many requests is taken; none else', async () => {
    upstream.seen.length = 0;
    handler = (method, path, res) => {
      if (method === 'GET' && path === '/v1/messages/batches?limit=100') {
        return json(res, 200, {
          data: [
            { id: 'old', created_at: '2020-01-01T00:00:00Z', request_counts: { processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 } },
            { id: 'other-size', created_at: new Date().toISOString(), request_counts: { processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 } },
            { id: 'mine', created_at: new Date().toISOString(), request_counts: { processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 } },
          ],
        });
      }
      json(res, 500, {});
    };
    const requests = [
      { customId: 'a', body: {} },
      { customId: 'b', body: {} },
    ];
    assert.deepEqual(await api().submit('/v1/chat/completions', requests, 't', Date.now() - 1000), { id: 'mine', fileId: null });
    assert.deepEqual(
      upstream.seen.map((r) => [r.method, r.headers['x-api-key'], r.headers['anthropic-version']]),
      [['GET', 'sk-ant-first-0123', '2023-06-01']],
    );
  });

  test('results: succeeded as chat completions (or messages), errored with the status of its type, canceled and expired never ran', async () => {
    handler = (_method, path, res) => {
      if (path === '/v1/messages/batches/mb') return json(res, 200, { id: 'mb', processing_status: 'ended', results_url: `${upstream.url}/v1/messages/batches/mb/results` });
      if (path === '/v1/messages/batches/mb/results') {
        const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'ok' }], stop_reason: 'max_tokens', usage: { input_tokens: 4, output_tokens: 2, cache_read_input_tokens: 3 } };
        return json(
          res,
          200,
          [
            { custom_id: 'a', result: { type: 'succeeded', message } },
            { custom_id: 'b', result: { type: 'errored', error: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } } },
            { custom_id: 'c', result: { type: 'canceled' } },
            { custom_id: 'd', result: { type: 'expired' } },
          ]
            .map((l) => JSON.stringify(l))
            .join('\n'),
        );
      }
      json(res, 404, {});
    };
    const chat = await api().results({ id: 'mb', fileId: null }, '/v1/chat/completions');
    assert.deepEqual(
      chat.map((r) => [r.customId, r.status, r.cancelled, r.error?.code ?? null]),
      [
        ['a', 200, false, null],
        ['b', 529, false, null],
        ['c', 0, true, 'batch_cancelled'],
        ['d', 0, false, 'batch_expired'],
      ],
    );
    const completion = chat[0]!.body as { object: string; choices: { message: { content: string }; finish_reason: string }[] };
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0]!.message.content, 'ok');
    assert.equal(completion.choices[0]!.finish_reason, 'length');
    assert.deepEqual(chat[0]!.usage, { promptTokens: 7, cachedPromptTokens: 3, completionTokens: 2, totalTokens: 9 });
    assert.deepEqual(chat[1]!.body, { error: { message: 'Upstream 529: busy', type: 'overloaded_error', code: null, param: null } });
    const messages = await api().results({ id: 'mb', fileId: null }, '/v1/messages');
    assert.equal((messages[0]!.body as { type: string }).type, 'message');
    assert.deepEqual(messages[1]!.body, { type: 'error', error: { type: 'overloaded_error', message: 'busy' } });
  });
});
