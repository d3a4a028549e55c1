import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { FakeClock } from '../../src/lib/clock.js';
import { MockEngine } from '../../src/mock/engine.js';
import { defaultMockOptions } from '../../src/mock/options.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { argumentsFor, pickToolCall, type MockTool } from '../../src/mock/tools.js';
import type { JsonObject } from '../../src/providers/types.js';
import { parseSseText } from '../helpers/gateway.js';

const engine = (): MockEngine => new MockEngine(defaultMockOptions, new FakeClock(1_700_000_000_000));
const schema = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { enum: ['c', 'f'] }, opt: { type: 'string' } }, required: ['city', 'days', 'unit'] };
const tools: MockTool[] = [
  { name: 'get_weather', schema },
  { name: 'get_time', schema: { type: 'object' } },
];

describe('mock tool-call rule', () => {
  test('required, named, auto with a mention, none', () => {
    assert.deepEqual(pickToolCall({ tools, choice: 'required', lastUserText: 'hello' }), { name: 'get_weather', input: { city: 'mock-city', days: 42, unit: 'c' } });
    assert.equal(pickToolCall({ tools, choice: { name: 'get_time' }, lastUserText: null })?.name, 'get_time');
    assert.equal(pickToolCall({ tools, choice: 'auto', lastUserText: 'please call get_time now' })?.name, 'get_time');
    assert.equal(pickToolCall({ tools, choice: 'auto', lastUserText: 'what is the weather?' }), null);
    assert.equal(pickToolCall({ tools, choice: 'auto', lastUserText: null }), null, 'a tool result last: answer in text');
    assert.equal(pickToolCall({ tools, choice: 'none', lastUserText: 'get_time' }), null);
    assert.equal(pickToolCall({ tools: [], choice: 'required', lastUserText: 'x' }), null);
  });

  test('arguments satisfy required properties by type, enum and const, nested', () => {
    assert.deepEqual(
      argumentsFor({
        type: 'object',
        required: ['s', 'n', 'b', 'a', 'o', 'k', 't'],
        properties: {
          s: { type: 'string' },
          n: { type: 'number' },
          b: { type: 'boolean' },
          a: { type: 'array', items: { type: 'string' } },
          o: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] },
          k: { const: 'fixed' },
          t: { type: ['string', 'null'] },
        },
      }),
      { s: 'mock-s', n: 42, b: true, a: [], o: { x: 42 }, k: 'fixed', t: 'mock-t' },
    );
    assert.deepEqual(argumentsFor(undefined), {});
  });
});

describe('OpenAI chat mock with tools', () => {
  const body = { model: 'mock-1', messages: [{ role: 'user', content: 'go' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: schema } }], tool_choice: 'required' };

  test('JSON: a tool call with deterministic arguments, finish_reason tool_calls, usage from the arguments', () => {
    const c = engine().chatCompletion(body);
    const choice = c.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls![0]!;
    assert.match(call.id, /^call_mock_[0-9a-f]{24}$/);
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock-city', days: 42, unit: 'c' });
    assert.equal(c.usage.completion_tokens, Math.ceil(call.function.arguments.length / 4));
    assert.deepEqual(engine().chatCompletion(body), c, 'deterministic');
  });

  test('stream: role, tool call start, argument fragments, finish', () => {
    const chunks = engine().chatChunks(body, false);
    const c = engine().chatCompletion(body);
    const call = c.choices[0]!.message.tool_calls![0]!;
    assert.deepEqual(chunks[1]!.choices[0]!.delta, { tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    const args = chunks.map((ch) => ch.choices[0]?.delta.tool_calls?.[0]?.function.arguments ?? '').join('');
    assert.equal(args, call.function.arguments);
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'tool_calls');
    assert.ok(chunks.length >= 5);
  });

  test('without tools or with tool_choice none the answer is text, as before', () => {
    assert.equal(typeof engine().chatCompletion({ ...body, tool_choice: 'none' }).choices[0]!.message.content, 'string');
    const plain = { model: 'mock-1', messages: [{ role: 'user', content: 'go' }] };
    assert.equal(engine().chatCompletion(plain).choices[0]!.finish_reason, 'stop');
  });
});

describe('standalone mock: Anthropic, Gemini and Azure flavours', () => {
  let mock: MockServer;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> => {
    const r = await request(`${mock.origin}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
  };

  before(async () => {
    mock = await startMockServer({ port: 0 });
  });
  after(async () => {
    await mock.close();
  });

  const messages = { model: 'claude-x', max_tokens: 100, system: 'terse', messages: [{ role: 'user', content: 'Tell me about rivers.' }] };

  test('Anthropic JSON message: shape, stop reason, usage', async () => {
    const r = await post('/v1/messages', messages);
    assert.equal(r.status, 200);
    const m = JSON.parse(r.text) as JsonObject;
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'claude-x');
    assert.match(String(m.id), /^msg_[0-9a-f]{24}$/);
    assert.equal(m.stop_reason, 'end_turn');
    const content = m.content as JsonObject[];
    assert.equal(content[0]!.type, 'text');
    const words = String(content[0]!.text).split(' ').length;
    assert.deepEqual(m.usage, { input_tokens: Math.ceil(('terse'.length + 'Tell me about rivers.'.length) / 4), output_tokens: words, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const limited = JSON.parse((await post('/v1/messages', { ...messages, max_tokens: 2 })).text) as JsonObject;
    assert.equal(limited.stop_reason, 'max_tokens');
  });

  test('Anthropic stream: named events in order, text matches the JSON answer', async () => {
    const json = JSON.parse((await post('/v1/messages', messages)).text) as { content: { text: string }[] };
    const r = await post('/v1/messages', { ...messages, stream: true });
    assert.match(String(r.headers['content-type']), /text\/event-stream/);
    const events = parseSseText(r.text);
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 3), ['message_start', 'ping', 'content_block_start']);
    assert.deepEqual(names.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    for (const e of events) assert.equal((JSON.parse(e.data) as JsonObject).type, e.event);
    const text = events.filter((e) => e.event === 'content_block_delta').map((e) => ((JSON.parse(e.data) as JsonObject).delta as JsonObject).text).join('');
    assert.equal(text, json.content[0]!.text);
  });

  test('Anthropic tool use by tool_choice any, and by naming the tool in the last user message', async () => {
    const tools = [{ name: 'get_weather', input_schema: schema }];
    const any = JSON.parse((await post('/v1/messages', { ...messages, tools, tool_choice: { type: 'any' } })).text) as JsonObject;
    assert.equal(any.stop_reason, 'tool_use');
    const block = (any.content as JsonObject[])[0]!;
    assert.equal(block.type, 'tool_use');
    assert.match(String(block.id), /^toolu_mock_/);
    assert.deepEqual(block.input, { city: 'mock-city', days: 42, unit: 'c' });
    const mention = JSON.parse((await post('/v1/messages', { ...messages, tools, messages: [{ role: 'user', content: 'use get_weather please' }] })).text) as JsonObject;
    assert.equal(mention.stop_reason, 'tool_use');
    const stream = parseSseText((await post('/v1/messages', { ...messages, tools, tool_choice: { type: 'tool', name: 'get_weather' }, stream: true })).text);
    const partial = stream.filter((e) => e.event === 'content_block_delta').map((e) => ((JSON.parse(e.data) as JsonObject).delta as JsonObject).partial_json).join('');
    assert.deepEqual(JSON.parse(partial), { city: 'mock-city', days: 42, unit: 'c' });
  });

  test("Anthropic errors: 529 overloaded_error, a missing max_tokens, invalid JSON — all in Anthropic's shape", async () => {
    mock.configure({ status: 529 });
    try {
      const r = await post('/v1/messages', messages);
      assert.equal(r.status, 529);
      assert.deepEqual(JSON.parse(r.text), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded (mock fault).' } });
    } finally {
      mock.configure({ status: null });
    }
    const missing = await post('/v1/messages', { model: 'c', messages: [] });
    assert.equal(missing.status, 400);
    assert.equal(((JSON.parse(missing.text) as JsonObject).error as JsonObject).type, 'invalid_request_error');
    const bad = await post('/v1/messages', '{nope');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.text) as JsonObject).type, 'error');
  });

  test('Anthropic stream cut by dropAfterChunks has no message_stop', async () => {
    mock.configure({ dropAfterChunks: 4 });
    try {
      const r = await request(`${mock.origin}/v1/messages`, { method: 'POST', body: JSON.stringify({ ...messages, stream: true }) });
      await assert.rejects(r.body.text());
    } finally {
      mock.configure({ dropAfterChunks: null });
    }
  });

  const gen = { contents: [{ role: 'user', parts: [{ text: 'Tell me about rivers.' }] }], generationConfig: { maxOutputTokens: 50 } };

  test('Gemini generateContent, streamGenerateContent (SSE and JSON array), and errors', async () => {
    const one = JSON.parse((await post('/v1beta/models/gemini-x:generateContent', gen)).text) as JsonObject;
    const cand = (one.candidates as JsonObject[])[0]!;
    assert.equal(cand.finishReason, 'STOP');
    const text = (((cand.content as JsonObject).parts as JsonObject[])[0]!.text as string);
    assert.equal(one.modelVersion, 'gemini-x');
    assert.equal((one.usageMetadata as JsonObject).candidatesTokenCount, text.split(' ').length);
    const sse = parseSseText((await post('/v1beta/models/gemini-x:streamGenerateContent?alt=sse', gen)).text);
    const streamed = sse.map((e) => (((((JSON.parse(e.data) as JsonObject).candidates as JsonObject[])[0]!.content as JsonObject).parts as JsonObject[])[0]!.text as string)).join('');
    assert.equal(streamed, text);
    const array = JSON.parse((await post('/v1beta/models/gemini-x:streamGenerateContent', gen)).text) as unknown[];
    assert.equal(array.length, sse.length);
    mock.configure({ status: 429 });
    try {
      const r = await post('/v1beta/models/gemini-x:generateContent', gen);
      assert.equal(r.status, 429);
      assert.deepEqual(JSON.parse(r.text), { error: { code: 429, message: 'Mock fault: status 429.', status: 'RESOURCE_EXHAUSTED' } });
    } finally {
      mock.configure({ status: null });
    }
    assert.equal((await post('/v1beta/models/gemini-x:generateContent', {})).status, 400);
  });

  test('Gemini function calls by mode ANY, prompt blocks, and batch embeddings', async () => {
    const tools = [{ functionDeclarations: [{ name: 'a', parametersJsonSchema: { type: 'object' } }, { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }] }];
    const r = JSON.parse((await post('/v1beta/models/g:generateContent', { ...gen, tools, toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } } })).text) as JsonObject;
    const part = (((r.candidates as JsonObject[])[0]!.content as JsonObject).parts as JsonObject[])[0]!;
    assert.deepEqual(part.functionCall, { name: 'lookup', args: { q: 'mock-q' } });
    const blocked = JSON.parse((await post('/v1beta/models/g:generateContent', { contents: [{ role: 'user', parts: [{ text: 'mock:block' }] }] })).text) as JsonObject;
    assert.deepEqual(blocked.promptFeedback, { blockReason: 'SAFETY' });
    assert.equal(blocked.candidates, undefined);
    const emb = JSON.parse((await post('/v1beta/models/e:batchEmbedContents', { requests: [{ model: 'models/e', content: { parts: [{ text: 'x' }] }, outputDimensionality: 8 }, { model: 'models/e', content: { parts: [{ text: 'y' }] } }] })).text) as { embeddings: { values: number[] }[] };
    assert.deepEqual(emb.embeddings.map((e) => e.values.length), [8, 768]);
  });

  test('Azure paths answer like OpenAI, with the deployment as the model; no api-version is a 404', async () => {
    const r = await post('/openai/deployments/my-dep/chat/completions?api-version=2024-10-21', { messages: [{ role: 'user', content: 'x' }] }, { 'api-key': 'k' });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.text) as JsonObject).model, 'my-dep');
    assert.equal((await post('/openai/deployments/my-dep/chat/completions', { messages: [] })).status, 404);
  });

  test('OpenAI flavour (issue 18): audio refused with an OpenAI-shaped 400; n and logprobs answered over HTTP', async () => {
    const audio = await post('/v1/chat/completions', { model: 'mock-1', modalities: ['text', 'audio'], messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(audio.status, 400);
    assert.deepEqual(JSON.parse(audio.text), { error: { message: 'The model answers text only: output modality "audio" is not supported.', type: 'invalid_request_error', param: 'modalities', code: 'unsupported_modality' } });
    const r = JSON.parse((await post('/v1/chat/completions', { model: 'mock-1', n: 2, logprobs: true, messages: [{ role: 'user', content: 'hi' }] })).text) as { choices: { message: { content: string }; logprobs: { content: { token: string }[] } }[] };
    assert.equal(r.choices.length, 2);
    for (const c of r.choices) assert.equal(c.logprobs.content.map((t) => t.token).join(''), c.message.content);
  });

  test('every flavour counts as a generation request; unknown paths do not', async () => {
    const before = mock.stats.requests;
    await post('/v1/messages', messages);
    await post('/v1beta/models/g:generateContent', gen);
    await post('/v1/nothing', {});
    assert.equal(mock.stats.requests, before + 2);
  });
});
