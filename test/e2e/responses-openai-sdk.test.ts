import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Backend } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The openai SDK's `client.responses` through Sluice's /v1/responses (issue 18), answered by
 * the in-process mock through the chat pipeline, and by an OpenAI-type upstream that records
 * the chat body it was sent.
 */

/** An OpenAI-type upstream answering every chat request with `answer(body)`. */
function chatUpstream(answer: (body: Record<string, unknown>) => Record<string, unknown>): Backend {
  return new Backend('upstream', (_req: IncomingMessage, res: ServerResponse, text: string) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    const message = answer(body);
    const completion = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'up-1',
      choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: message.tool_calls === undefined ? 'stop' : 'tool_calls' }],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 2 } },
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(completion));
  });
}

describe('openai SDK responses.create through Sluice', () => {
  let gw: TestGateway;
  let upstream: Backend;
  let client: OpenAI;
  const weather = { type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true };

  before(async () => {
    upstream = await chatUpstream((body) => {
      const format = body.response_format as { type: string } | undefined;
      if (format?.type === 'json_schema') return { content: JSON.stringify({ name: 'Acme', score: 9 }) };
      return { content: `seen ${(body.messages as unknown[]).length} messages` };
    }).start();
    gw = await startGateway({
      providers: { mock: { type: 'mock' }, up: { type: 'openai', baseUrl: upstream.url, apiKey: 'sk-up' } },
      routes: [
        { match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] },
        { match: 'up-*', targets: [{ provider: 'up', model: 'up-1' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await upstream.stop();
  });

  test('text input: a completed response whose output_text the SDK derives', async () => {
    const res = await client.responses.create({ model: 'mock-1', input: 'Rank these brands by trust: Acme, Globex, Initech.' });
    assert.match(res.id, /^resp_/);
    assert.equal(res.object, 'response');
    assert.equal(res.status, 'completed');
    assert.equal(res.model, 'mock-1');
    assert.ok(res.output_text.split(' ').length >= 8, `answer too short: ${res.output_text}`);
    const message = res.output[0];
    assert.equal(message?.type, 'message');
    assert.ok(res.usage !== undefined && res.usage !== null && res.usage.output_tokens > 0 && res.usage.input_tokens > 0);
    assert.equal(res.usage.total_tokens, res.usage.input_tokens + res.usage.output_tokens);
    // The echoed settings the spec requires on every Response.
    assert.equal(res.error, null);
    assert.equal(res.incomplete_details, null);
    assert.deepEqual(res.tools, []);
    assert.equal(res.tool_choice, 'auto');
    assert.equal(res.parallel_tool_calls, true);
  });

  test('instructions and item input reach the upstream as system and chat messages; usage details map', async () => {
    upstream.seen.length = 0;
    const res = await client.responses.create({
      model: 'up-1',
      instructions: 'Answer briefly.',
      input: [
        { role: 'developer', content: 'Be kind.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
        { role: 'assistant', content: 'Hi, how can I help?' },
        { type: 'message', role: 'user', content: 'Tell me a fact.' },
      ],
      max_output_tokens: 50,
      temperature: 0.5,
      metadata: { run: 'r1' },
    });
    const sent = JSON.parse(upstream.seen[0]!.body) as Record<string, unknown>;
    assert.deepEqual(sent.messages, [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi, how can I help?' },
      { role: 'user', content: 'Tell me a fact.' },
    ]);
    assert.equal(sent.max_completion_tokens, 50);
    assert.equal(sent.temperature, 0.5);
    assert.equal(sent.metadata, undefined, 'metadata stays on the response, not upstream');
    assert.equal(res.output_text, 'seen 5 messages');
    assert.equal(res.instructions, 'Answer briefly.');
    assert.equal(res.temperature, 0.5);
    assert.equal(res.max_output_tokens, 50);
    assert.deepEqual(res.metadata, { run: 'r1' });
    assert.deepEqual(res.usage, { input_tokens: 11, input_tokens_details: { cached_tokens: 3 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 18 });
  });

  test('function call round trip: tool call, function_call_output, final answer', async () => {
    const first = await client.responses.create({ model: 'mock-1', input: 'What is the weather? Use get_weather.', tools: [weather] });
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call !== undefined && call.type === 'function_call', JSON.stringify(first.output));
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'mock-city' });
    assert.match(call.call_id, /\S/);
    const second = await client.responses.create({
      model: 'mock-1',
      tools: [weather],
      input: [{ role: 'user', content: 'What is the weather? Use get_weather.' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
    });
    assert.equal(second.status, 'completed');
    assert.ok(second.output.every((o) => o.type === 'message'));
    assert.ok(second.output_text.length > 0);
  });

  test('text.format json_schema becomes response_format json_schema; the answer parses', async () => {
    upstream.seen.length = 0;
    const schema = { type: 'object', properties: { name: { type: 'string' }, score: { type: 'number' } }, required: ['name', 'score'], additionalProperties: false };
    const res = await client.responses.create({ model: 'up-1', input: 'Rate Acme.', text: { format: { type: 'json_schema', name: 'rating', schema, strict: true } } });
    const sent = JSON.parse(upstream.seen[0]!.body) as Record<string, unknown>;
    assert.deepEqual(sent.response_format, { type: 'json_schema', json_schema: { name: 'rating', schema, strict: true } });
    assert.deepEqual(JSON.parse(res.output_text), { name: 'Acme', score: 9 });
    assert.deepEqual(res.text?.format, { type: 'json_schema', name: 'rating', schema, strict: true });
  });

  test('a hosted tool is refused with a 400 naming the field', async () => {
    await assert.rejects(client.responses.create({ model: 'mock-1', input: 'hi', tools: [{ type: 'web_search' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, 'tools[0].type');
      assert.equal(err.code, 'SLUICE_ERR_INVALID_REQUEST');
      return true;
    });
  });

  test('an unknown model is the catalog 404 in OpenAI shape', async () => {
    await assert.rejects(client.responses.create({ model: 'nothing', input: 'hi' }), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'SLUICE_ERR_MODEL_NOT_FOUND');
  });
});
