/**
 * Issue 18: prompt-cache writes and reasoning tokens, from a provider's answer to the usage
 * record and its cost, through the official openai SDK. The upstreams are scripted HTTP
 * servers on port 0 that answer what Anthropic and OpenAI answer with prompt caching and
 * reasoning on.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const ADMIN = 'admin-token-0123456789abcdef';

/** Anthropic's usage with 5-minute and 1-hour cache writes and a cache read. */
const anthropicUsage = { input_tokens: 1000, cache_read_input_tokens: 20_000, cache_creation_input_tokens: 10_000, cache_creation: { ephemeral_5m_input_tokens: 4000, ephemeral_1h_input_tokens: 6000 }, output_tokens: 500 };

function anthropicAnswer(stream: boolean): { type: string; body: string } {
  const message = { id: 'msg_acc', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage: anthropicUsage };
  if (!stream) return { type: 'application/json', body: JSON.stringify(message) };
  const events: [string, unknown][] = [
    ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...anthropicUsage, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Done.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500 } }],
    ['message_stop', { type: 'message_stop' }],
  ];
  return { type: 'text/event-stream', body: events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join('') };
}

/** OpenAI's usage for a reasoning model: 3,000 of the 3,500 completion tokens were reasoning. */
const openAIUsage = { prompt_tokens: 10_000, completion_tokens: 3500, total_tokens: 13_500, prompt_tokens_details: { cached_tokens: 4000 }, completion_tokens_details: { reasoning_tokens: 3000 } };

function openAIAnswer(stream: boolean): { type: string; body: string } {
  const base = { id: 'chatcmpl-acc', created: 1_700_000_000, model: 'o3-2025-04-16' };
  if (!stream) return { type: 'application/json', body: JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Done.', refusal: null }, logprobs: null, finish_reason: 'stop' }], usage: openAIUsage }) };
  const chunks = [
    { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: 'Done.' }, logprobs: null, finish_reason: null }] },
    { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
    { ...base, object: 'chat.completion.chunk', choices: [], usage: openAIUsage },
  ];
  return { type: 'text/event-stream', body: `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n` };
}

function startUpstream(answer: (stream: boolean) => { type: string; body: string }): Promise<http.Server> {
  const server = http.createServer((request, res) => {
    let text = '';
    request.on('data', (c: Buffer) => (text += c.toString()));
    request.on('end', () => {
      const { type, body } = answer((JSON.parse(text) as { stream?: boolean }).stream === true);
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const urlOf = (s: http.Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`;

describe('cache writes and reasoning tokens reach the usage record and its cost (issue 18)', () => {
  let claude: http.Server;
  let o3: http.Server;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    [claude, o3] = await Promise.all([startUpstream(anthropicAnswer), startUpstream(openAIAnswer)]);
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      database: { embedded: 'memory' },
      usage: { flushInterval: '20ms' },
      providers: { claude: { type: 'anthropic', baseUrl: urlOf(claude), apiKey: 'sk-ant-upstream' }, openai: { type: 'openai', baseUrl: urlOf(o3), apiKey: 'sk-upstream' } },
      routes: [
        { match: 'claude-sonnet-4-5', targets: [{ provider: 'claude' }] },
        { match: 'o3', targets: [{ provider: 'openai' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    for (const s of [claude, o3]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
  });
  beforeEach(async () => {
    await gw.gateway.usage!.drain();
    await gw.gateway.database!.query('DELETE FROM usage_records');
  });

  async function records(): Promise<Record<string, unknown>[]> {
    await gw.gateway.usage!.drain();
    const page = await req.sendJson<{ data: Record<string, unknown>[] }>(gw, '/admin/usage/requests', { bearer: ADMIN });
    assert.equal(page.status, 200);
    return page.json.data;
  }

  for (const stream of [false, true]) {
    test(`Anthropic provider, ${stream ? 'stream' : 'JSON'}: 5-minute and 1-hour writes recorded and priced at 1.25× and 2× input`, async () => {
      const messages = [{ role: 'user' as const, content: 'Hello' }];
      if (stream) {
        let usage: OpenAI.CompletionUsage | null | undefined;
        for await (const chunk of await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages, stream: true, stream_options: { include_usage: true } })) if (chunk.usage) usage = chunk.usage;
        assert.equal(usage?.prompt_tokens, 31_000);
      } else {
        const res = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages });
        // The client sees the whole prompt, cache reads and writes in its details.
        assert.deepEqual(res.usage?.prompt_tokens_details, { cached_tokens: 20_000, cache_write_tokens: 10_000, cache_write_1h_tokens: 6000 });
      }
      const [r] = await records();
      assert.equal(r?.prompt_tokens, 31_000);
      assert.equal(r?.cached_prompt_tokens, 20_000);
      assert.equal(r?.cache_write_tokens, 4000);
      assert.equal(r?.cache_write_1h_tokens, 6000);
      assert.equal(r?.reasoning_tokens, 0);
      // Claude Sonnet 4.5: 1,000 × $3/M + 4,000 × $3.75/M + 6,000 × $6/M + 20,000 × $0.30/M + 500 × $15/M
      //                  = 0.003 + 0.015 + 0.036 + 0.006 + 0.0075 = $0.0675
      assert.ok(Math.abs((r?.cost_usd as number) - 0.0675) < 1e-12, String(r?.cost_usd));
    });

    test(`OpenAI provider, ${stream ? 'stream' : 'JSON'}: reasoning tokens recorded and billed once, as output`, async () => {
      const messages = [{ role: 'user' as const, content: 'Think' }];
      if (stream) {
        for await (const chunk of await client.chat.completions.create({ model: 'o3', messages, stream: true })) assert.ok(chunk.object === 'chat.completion.chunk');
      } else {
        const res = await client.chat.completions.create({ model: 'o3', messages });
        assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 3000);
      }
      const [r] = await records();
      assert.deepEqual([r?.prompt_tokens, r?.cached_prompt_tokens, r?.completion_tokens, r?.reasoning_tokens, r?.cache_write_tokens], [10_000, 4000, 3500, 3000, 0]);
      // o3: 6,000 × $2/M + 4,000 × $0.50/M + 3,500 × $8/M = 0.012 + 0.002 + 0.028 = $0.042
      assert.ok(Math.abs((r?.cost_usd as number) - 0.042) < 1e-12, String(r?.cost_usd));
      const summary = await req.sendJson<{ data: Record<string, unknown>[] }>(gw, '/admin/usage', { bearer: ADMIN });
      assert.equal(summary.json.data[0]?.reasoning_tokens, 3000);
    });
  }
});
