import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { Backend } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The Vercel AI SDK (`ai` 6) with `@ai-sdk/openai` 3's default provider, which speaks the
 * Responses API, through Sluice's /v1/responses (issue 18). generateObject runs against an
 * OpenAI-type upstream that answers the json_schema it is sent (the built-in mock's structured
 * output is another part of issue 18); the rest against the mock.
 */
describe('ai SDK (@ai-sdk/openai default provider) through /v1/responses', () => {
  let gw: TestGateway;
  let upstream: Backend;
  let seen: Record<string, unknown>[];
  let openai: ReturnType<typeof createOpenAI>;
  const paths: string[] = [];

  before(async () => {
    seen = [];
    upstream = await new Backend('upstream', (_req: IncomingMessage, res: ServerResponse, text: string) => {
      const body = JSON.parse(text) as Record<string, unknown>;
      seen.push(body);
      const content = JSON.stringify({ name: 'Acme', founded: 1947, tags: ['anvils'] });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'up-1', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }));
    }).start();
    gw = await startGateway({
      providers: { mock: { type: 'mock' }, up: { type: 'openai', baseUrl: upstream.url, apiKey: 'sk-up' } },
      routes: [
        { match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] },
        { match: 'up-*', targets: [{ provider: 'up', model: 'up-1' }] },
      ],
    });
    // Records the paths the provider calls: every request must be a Responses API one.
    const recording: typeof fetch = (input, init) => {
      paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    };
    openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', fetch: recording });
  });

  afterEach(() => {
    assert.ok(paths.length > 0);
    assert.deepEqual([...new Set(paths)], ['/v1/responses'], 'the default provider speaks the Responses API');
    paths.length = 0;
  });

  after(async () => {
    await gw.close();
    await upstream.stop();
  });

  test('generateText', async () => {
    const { text, usage, finishReason } = await generateText({ model: openai('mock-1'), prompt: 'Rank these brands by trust: Acme, Globex, Initech.', maxRetries: 0 });
    assert.ok(text.split(' ').length >= 8, text);
    assert.equal(finishReason, 'stop');
    assert.ok((usage.outputTokens ?? 0) > 0 && (usage.inputTokens ?? 0) > 0);
  });

  test('streamText reassembles to the generateText answer', async () => {
    const prompt = 'Rank these brands by trust: Acme, Globex, Initech.';
    const { text: whole } = await generateText({ model: openai('mock-1'), prompt, maxRetries: 0 });
    const result = streamText({ model: openai('mock-1'), prompt, maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, whole);
    assert.ok(((await result.usage).outputTokens ?? 0) > 0);
    assert.equal(await result.finishReason, 'stop');
  });

  test('a tool call, executed, and the final answer (two steps)', async () => {
    const calls: unknown[] = [];
    const result = await generateText({
      model: openai('mock-1'),
      prompt: 'What is the weather? Use get_weather.',
      tools: {
        get_weather: tool({
          description: 'Weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async (input) => {
            calls.push(input);
            return { temperature: 21 };
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.deepEqual(calls, [{ city: 'mock-city' }]);
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0]!.finishReason, 'tool-calls');
    assert.ok(result.text.length > 0);
  });

  test('streamText with a tool: the call arrives as a tool-call part', async () => {
    const result = streamText({
      model: openai('mock-1'),
      prompt: 'Use get_weather please.',
      tools: { get_weather: tool({ inputSchema: z.object({ city: z.string() }) }) },
      maxRetries: 0,
    });
    const parts: { type: string; toolName?: string; input?: unknown }[] = [];
    for await (const part of result.fullStream) parts.push(part as { type: string });
    const call = parts.find((p) => p.type === 'tool-call');
    assert.ok(call !== undefined, JSON.stringify(parts.map((p) => p.type)));
    assert.equal(call.toolName, 'get_weather');
    assert.deepEqual(call.input, { city: 'mock-city' });
  });

  test('generateObject with a zod schema: json_schema reaches the upstream, the object comes back', async () => {
    seen.length = 0;
    const { object } = await generateObject({ model: openai('up-1'), schema: z.object({ name: z.string(), founded: z.number(), tags: z.array(z.string()) }), prompt: 'Describe Acme.', maxRetries: 0 });
    assert.deepEqual(object, { name: 'Acme', founded: 1947, tags: ['anvils'] });
    const format = seen[0]?.response_format as { type: string; json_schema: { schema: { properties: Record<string, unknown> } } };
    assert.equal(format.type, 'json_schema');
    assert.deepEqual(Object.keys(format.json_schema.schema.properties).sort(), ['founded', 'name', 'tags']);
  });
});
