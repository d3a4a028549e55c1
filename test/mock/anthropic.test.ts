/** Issue 18: the Anthropic flavour's extended thinking, through the official Anthropic SDK. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startMockServer, type MockServer } from '../../src/mock/server.js';

describe('mock Anthropic flavour: thinking blocks', () => {
  let mock: MockServer;
  let client: Anthropic;
  before(async () => {
    mock = await startMockServer({ port: 0 });
    client = new Anthropic({ baseURL: mock.url.replace(/\/v1$/, ''), apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await mock.close();
  });

  const ask = { model: 'claude-sonnet-4-5', max_tokens: 2048, messages: [{ role: 'user' as const, content: 'Think first.' }] };

  test('thinking enabled: a thinking block with a signature comes first, then the text; thinking counts as output', async () => {
    const plain = await client.messages.create(ask);
    const m = await client.messages.create({ ...ask, thinking: { type: 'enabled', budget_tokens: 1024 } });
    assert.deepEqual(m.content.map((b) => b.type), ['thinking', 'text']);
    const thinking = m.content[0] as Anthropic.ThinkingBlock;
    assert.ok(thinking.thinking.length > 0);
    assert.match(thinking.signature, /^[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(m.content[1], plain.content[0], 'the answer is the one without thinking');
    assert.equal(m.usage.output_tokens, plain.usage.output_tokens + thinking.thinking.split(' ').length);
    // Deterministic: the same request, the same thinking and signature.
    assert.deepEqual((await client.messages.create({ ...ask, thinking: { type: 'enabled', budget_tokens: 1024 } })).content[0], thinking);
    assert.deepEqual((await client.messages.create({ ...ask, thinking: { type: 'disabled' } })).content.map((b) => b.type), ['text']);
  });

  test('stream: thinking_delta and signature_delta events build the same message as JSON', async () => {
    const body = { ...ask, thinking: { type: 'enabled' as const, budget_tokens: 1024 } };
    const json = await client.messages.create(body);
    const stream = client.messages.stream(body);
    const deltas: string[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta') deltas.push(e.delta.type);
    });
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, json.content);
    assert.deepEqual(final.usage.output_tokens, json.usage.output_tokens);
    assert.ok(deltas.includes('thinking_delta') && deltas.includes('signature_delta') && deltas.includes('text_delta'));
    assert.ok(deltas.indexOf('signature_delta') < deltas.indexOf('text_delta'), 'the signature ends the thinking block, before the text');
  });
});
