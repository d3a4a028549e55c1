import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('providers across schemas, through the official SDKs', () => {
  let mock: MockServer;
  let overloaded: MockServer;
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    overloaded = await startMockServer({ port: 0, options: { status: 529 } });
    gw = await startGateway({
      providers: {
        claude: { type: 'anthropic', baseUrl: mock.url, apiKey: 'sk-ant-upstream' },
        busy: { type: 'anthropic', baseUrl: overloaded.url, apiKey: 'sk-ant-upstream' },
        gpt: { type: 'openai', baseUrl: mock.url },
      },
      routes: [
        { match: 'claude-*', targets: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }] },
        { match: 'gpt-*', targets: [{ provider: 'gpt' }] },
        { match: 'busy-claude', targets: [{ provider: 'busy' }], retry: { attempts: 0 }, fallback: ['gpt-4o'] },
      ],
    });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await Promise.all([mock.close(), overloaded.close()]);
  });

  test('openai SDK → Anthropic provider: JSON', async () => {
    const res = await openai.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] });
    assert.equal(res.object, 'chat.completion');
    assert.ok((res.choices[0]?.message.content ?? '').length > 0);
    assert.equal(res.choices[0]?.finish_reason, 'stop');
    assert.ok(res.usage !== undefined && res.usage.prompt_tokens > 0 && res.usage.completion_tokens > 0);
  });

  test('openai SDK → Anthropic provider: stream reassembles to the JSON answer', async () => {
    const messages = [{ role: 'user' as const, content: 'Stream to me' }];
    const json = await openai.chat.completions.create({ model: 'claude-sonnet', messages });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of await openai.chat.completions.create({ model: 'claude-sonnet', messages, stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, json.choices[0]?.message.content);
    assert.ok(usage && usage.completion_tokens > 0);
  });

  test('openai SDK → Anthropic provider: tool calls round-trip', async () => {
    const first = await openai.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'required' });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
    const second = await openai.chat.completions.create({
      model: 'claude-sonnet',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
      ],
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.ok((second.choices[0]?.message.content ?? '').length > 0);
  });

  test('anthropic SDK → /v1/messages → OpenAI provider: JSON', async () => {
    const msg = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0]?.type, 'text');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
  });

  test('anthropic SDK → /v1/messages → OpenAI provider: stream', async () => {
    const stream = anthropic.messages.stream({ model: 'gpt-4o', max_tokens: 64, messages: [{ role: 'user', content: 'Stream to me' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    const block = final.content[0];
    assert.ok(block && block.type === 'text');
    assert.equal(block.text, text);
    assert.ok(text.length > 0);
    assert.ok(final.usage.output_tokens > 0);
  });

  test('anthropic SDK → /v1/messages → OpenAI provider: tools', async () => {
    const msg = await anthropic.messages.create({
      model: 'gpt-4o',
      max_tokens: 64,
      tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    assert.equal(typeof (use.input as { city: unknown }).city, 'string');
  });

  test('an Anthropic error surfaces in Anthropic shape through /v1/messages', async () => {
    await assert.rejects(anthropic.messages.create({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      return true;
    });
    await assert.rejects(anthropic.messages.create({ model: 'gpt-4o', max_tokens: 8, messages: [] }), (err: unknown) => err instanceof Anthropic.BadRequestError);
  });

  test('an overloaded (529) Anthropic target falls back to the OpenAI target', async () => {
    const res = await openai.chat.completions.create({ model: 'busy-claude', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.model, 'gpt-4o');
    assert.ok((res.choices[0]?.message.content ?? '').length > 0);
  });
});
