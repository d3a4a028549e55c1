import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The Vercel AI SDK's Anthropic provider (`@ai-sdk/anthropic` 3) through Sluice (issue 18): to
 * the built-in mock as an `anthropic`-type upstream (passed through) and as the in-process mock
 * provider (translated).
 */
describe('@ai-sdk/anthropic through Sluice (issue 18)', () => {
  let mock: MockServer;
  let gw: TestGateway;
  let anthropic: ReturnType<typeof createAnthropic>;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      providers: { claude: { type: 'anthropic', baseUrl: mock.url, apiKey: 'sk-ant-upstream' }, inproc: { type: 'mock' } },
      routes: [
        { match: 'claude-passthrough', targets: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }] },
        { match: 'claude-translated', targets: [{ provider: 'inproc' }] },
      ],
    });
    anthropic = createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client' });
  });

  after(async () => {
    await gw.close();
    await mock.close();
  });

  const weather = tool({
    description: 'Weather for a city',
    inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
    execute: async ({ city }) => ({ city, celsius: 21 }),
  });

  for (const model of ['claude-passthrough', 'claude-translated']) {
    test(`${model}: generateText`, async () => {
      const result = await generateText({ model: anthropic(model), prompt: 'Say hello.', maxOutputTokens: 64 });
      assert.ok(result.text.length > 0);
      assert.equal(result.finishReason, 'stop');
      assert.ok((result.usage.inputTokens ?? 0) > 0 && (result.usage.outputTokens ?? 0) > 0);
      assert.ok(result.response.headers?.['request-id']);
    });

    test(`${model}: streamText reassembles to text with usage`, async () => {
      const result = streamText({ model: anthropic(model), prompt: 'Stream a greeting.', maxOutputTokens: 64 });
      let text = '';
      for await (const part of result.textStream) text += part;
      assert.ok(text.length > 0);
      assert.equal(text, await result.text);
      assert.ok(((await result.usage).outputTokens ?? 0) > 0);
    });

    test(`${model}: a tool call round trip`, async () => {
      const result = await generateText({
        model: anthropic(model),
        prompt: 'What is the weather in Paris?',
        tools: { get_weather: weather },
        toolChoice: 'required',
        stopWhen: stepCountIs(2),
        maxOutputTokens: 128,
      });
      const calls = result.steps.flatMap((s) => s.toolCalls);
      assert.ok(calls.length >= 1);
      assert.equal(calls[0]?.toolName, 'get_weather');
      const results = result.steps.flatMap((s) => s.toolResults);
      assert.deepEqual((results[0]?.output as { celsius: number }).celsius, 21);
      assert.equal(result.steps.length, 2);
    });
  }
});
