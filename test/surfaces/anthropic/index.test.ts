import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { SluiceError } from '../../../src/errors.js';
import type { JsonObject } from '../../../src/providers/types.js';
import {
  anthropicErrorBody,
  anthropicErrorEvent,
  anthropicRequestToOpenAI,
  Refusals,
  OpenAIToAnthropicStream,
  openAIResponseToAnthropic,
} from '../../../src/surfaces/anthropic/index.js';
import { fixtureJson, fixtureText, scriptedUpstream, sseEvents } from '../../providers/helpers.js';

function rejects(body: JsonObject, param: string, pattern: RegExp): void {
  assert.throws(
    () => anthropicRequestToOpenAI(body),
    (e: unknown) => {
      assert.ok(e instanceof SluiceError);
      assert.equal(e.status, 400);
      assert.equal(e.param, param);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const base = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] };

describe('Anthropic request → OpenAI chat body', () => {
  test('every field', () => {
    const out = anthropicRequestToOpenAI({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Use metric.' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18C' }] },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
        { role: 'assistant', content: 'Probably rain.' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'timeout', is_error: true }] },
      ],
      stop_sequences: ['\n\nHuman:'],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 20,
      metadata: { user_id: 'user-7' },
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 2000 },
      service_tier: 'auto',
    });
    assert.deepEqual(out, {
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'You are terse.\n\nUse metric.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
          ],
        },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18C' },
        { role: 'user', content: 'And tomorrow?' },
        { role: 'assistant', content: 'Probably rain.' },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: timeout' },
      ],
      max_tokens: 1024,
      stop: ['\n\nHuman:'],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 20,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      user: 'user-7',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('tool_choice forms and output_config', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    assert.equal(anthropicRequestToOpenAI({ ...base, tools, tool_choice: { type: 'any' } }).tool_choice, 'required');
    assert.equal(anthropicRequestToOpenAI({ ...base, tools, tool_choice: { type: 'none' } }).tool_choice, 'none');
    assert.deepEqual(anthropicRequestToOpenAI({ ...base, tools, tool_choice: { type: 'tool', name: 'f' } }).tool_choice, { type: 'function', function: { name: 'f' } });
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const out = anthropicRequestToOpenAI({ ...base, output_config: { format: { type: 'json_schema', schema }, effort: 'high' } });
    assert.deepEqual(out.response_format, { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    assert.equal(out.reasoning_effort, 'high');
  });

  test('shape errors are 400s naming the field', () => {
    rejects({ model: 'c', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens', /required/);
    rejects({ ...base, messages: [] }, 'messages', /at least one/);
    rejects({ ...base, messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role', /"user", "assistant"/);
    rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'video' }] }] }, 'messages[0].content[0].type', /content block of type/);
    rejects({ ...base, temperature: 1.5 }, 'temperature', /at most 1/);
    rejects({ ...base, tool_choice: { type: 'sometimes' } }, 'tool_choice.type', /auto, any, tool or none/);
  });

  test('what the surface cannot carry is a 400 naming it', () => {
    rejects({ ...base, container: 'c1' }, 'container', /container/);
    rejects({ ...base, mcp_servers: [] }, 'mcp_servers', /mcp_servers/);
    rejects({ ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type', /server tools/);
    rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] }] }, 'messages[0].content[0].content[0]', /images in tool results/);
    rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://x/y.pdf' } }] }] }, 'messages[0].content[0].source', /base64 PDFs/);
    rejects({ ...base, output_config: { effort: 'max' } }, 'output_config.effort', /"max"/);
  });
});

describe('OpenAI answer → Anthropic message', () => {
  test('tool calls become tool_use with parsed input; cached tokens leave input_tokens', () => {
    const msg = openAIResponseToAnthropic(fixtureJson('openai/completion-tool-call.json'), 'claude-sonnet-4-5');
    assert.deepEqual(msg, {
      id: 'msg_chatcmpl-abc123',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'tool_use', id: 'call_abc', name: 'get_weather', input: { location: 'Paris' } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 50, output_tokens: 17, cache_creation_input_tokens: 0, cache_read_input_tokens: 32 },
    });
  });

  test('text, length, refusal and content_filter; bad arguments are a bad response', () => {
    const completion = (message: JsonObject, finish: string): JsonObject => ({ id: 'c1', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }] });
    const text = openAIResponseToAnthropic(completion({ content: 'Hi' }, 'length'), 'm');
    assert.deepEqual(text.content, [{ type: 'text', text: 'Hi' }]);
    assert.equal(text.stop_reason, 'max_tokens');
    assert.deepEqual(text.usage, { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    assert.equal(openAIResponseToAnthropic(completion({ content: null, refusal: 'I cannot.' }, 'stop'), 'm').stop_reason, 'refusal');
    assert.equal(openAIResponseToAnthropic(completion({ content: '' }, 'content_filter'), 'm').stop_reason, 'refusal');
    assert.throws(() => openAIResponseToAnthropic(completion({ content: null, tool_calls: [{ id: 'x', function: { name: 'f', arguments: '{oops' } }] }, 'tool_calls'), 'm'), (e: unknown) => e instanceof SluiceError && e.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });

  test('errors render in Anthropic shape with a matching type', () => {
    const overloaded = new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status: 529, message: 'Upstream 529: Overloaded', upstream: { status: 529, code: null, type: 'overloaded_error' } });
    assert.deepEqual(anthropicErrorBody(overloaded, 'req-1'), { type: 'error', error: { type: 'overloaded_error', message: 'Upstream 529: Overloaded', code: 'SLUICE_ERR_UPSTREAM_STATUS' }, request_id: 'req-1' });
    const byStatus: [SluiceError, string][] = [
      [new SluiceError('SLUICE_ERR_INVALID_REQUEST'), 'invalid_request_error'],
      [new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND'), 'not_found_error'],
      [new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status: 429, upstream: { status: 429, code: 'rate_limit_exceeded', type: 'requests' } }), 'rate_limit_error'],
      [new SluiceError('SLUICE_ERR_BODY_TOO_LARGE'), 'request_too_large'],
      [new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT'), 'timeout_error'],
      [new SluiceError('SLUICE_ERR_SHUTTING_DOWN'), 'overloaded_error'],
      [new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED'), 'api_error'],
    ];
    for (const [err, type] of byStatus) assert.equal(anthropicErrorBody(err).error.type, type, err.code);
    assert.match(anthropicErrorEvent(overloaded), /^event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"/);
  });
});

/** The events a chunk sequence turns into, as SSE text. */
function streamText(lines: string[], requestedModel = 'claude-sonnet-4-5'): string {
  const s = new OpenAIToAnthropicStream(requestedModel);
  return [...lines.flatMap((l) => s.push(l)), ...s.finish()].join('');
}

const toolChunks = fixtureText('openai/chunks-text-then-tool.jsonl').trim().split('\n');

describe('OpenAI chunks → Anthropic stream events', () => {
  test('the event sequence: blocks open and close in order, usage lands in message_delta', async () => {
    const events = await sseEvents(streamText(toolChunks));
    assert.deepEqual(
      events.map((e) => e.event),
      [
        'message_start',
        'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
        'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
        'content_block_start', 'content_block_delta', 'content_block_stop',
        'message_delta', 'message_stop',
      ],
    );
    const data = events.map((e) => JSON.parse(e.data) as JsonObject);
    assert.ok(data.every((d, i) => d.type === events[i]!.event), 'each data says its own event type');
    assert.deepEqual(data[5], { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_abc', name: 'get_weather', input: {} } });
    assert.deepEqual(data[6], { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"location"' } });
    assert.deepEqual(data.at(-2), {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 56, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 64 },
    });
  });

  test('interleaved tool call fragments (which OpenAI does not send) are refused', () => {
    const s = new OpenAIToAnthropicStream('m');
    const chunk = (tc: JsonObject): string => JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { tool_calls: [tc] }, finish_reason: null }] });
    s.push(chunk({ index: 0, id: 'a', function: { name: 'f', arguments: '' } }));
    s.push(chunk({ index: 1, id: 'b', function: { name: 'g', arguments: '{}' } }));
    assert.throws(() => s.push(chunk({ index: 0, function: { arguments: '{}' } })), (e: unknown) => e instanceof SluiceError);
  });

  test("the official SDK's stream parser accepts the events: text, tool calls and usage", async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, streamText(toolChunks));
    try {
      const client = new Anthropic({ baseURL: up.origin, apiKey: 'sk-test', maxRetries: 0 });
      const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] });
      let text = '';
      stream.on('text', (t) => (text += t));
      const final = await stream.finalMessage();
      assert.equal(text, 'Checking now.');
      assert.equal(final.model, 'claude-sonnet-4-5');
      assert.equal(final.stop_reason, 'tool_use');
      assert.deepEqual(
        final.content.map((b) => (b.type === 'tool_use' ? { name: b.name, input: b.input } : b.type === 'text' ? b.text : b.type)),
        ['Checking now.', { name: 'get_weather', input: { location: 'Paris' } }, { name: 'get_time', input: { tz: 'CET' } }],
      );
      assert.equal(final.usage.input_tokens, 56);
      assert.equal(final.usage.output_tokens, 30);
      assert.equal(final.usage.cache_read_input_tokens, 64);
      assert.equal(up.requests[0]!.url, '/v1/messages');
    } finally {
      await up.close();
    }
  });

  test('the SDK raises a mid-stream error event as an APIError of the Anthropic type', async () => {
    const s = new OpenAIToAnthropicStream('claude-sonnet-4-5');
    const head = toolChunks.slice(0, 2).flatMap((l) => s.push(l)).join('');
    const err = new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: 'The stream from provider "up" ended with overloaded_error: Overloaded', upstream: { status: 529, code: null, type: 'overloaded_error' } });
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, head + anthropicErrorEvent(err));
    try {
      const client = new Anthropic({ baseURL: up.origin, apiKey: 'sk-test', maxRetries: 0 });
      const stream = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], stream: true });
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const ev of stream) seen.push(ev.type);
        })(),
        (e: unknown) => {
          assert.ok(e instanceof Anthropic.APIError);
          assert.equal(e.type, 'overloaded_error');
          return true;
        },
      );
      assert.deepEqual(seen, ['message_start', 'content_block_start', 'content_block_delta']);
    } finally {
      await up.close();
    }
  });

  test('the SDK parses a JSON answer and an error body (529 → OverloadedError)', async () => {
    const msg = openAIResponseToAnthropic(fixtureJson('openai/completion-tool-call.json'), 'claude-sonnet-4-5');
    const ok = await scriptedUpstream(200, { 'content-type': 'application/json' }, JSON.stringify(msg));
    const overloaded = new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status: 529, message: 'Upstream 529: Overloaded', upstream: { status: 529, code: null, type: 'overloaded_error' } });
    const bad = await scriptedUpstream(529, { 'content-type': 'application/json' }, JSON.stringify(anthropicErrorBody(overloaded)));
    try {
      const res = await new Anthropic({ baseURL: ok.origin, apiKey: 'k', maxRetries: 0 }).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.stop_reason, 'tool_use');
      assert.deepEqual(res.content[0], { type: 'tool_use', id: 'call_abc', name: 'get_weather', input: { location: 'Paris' } });
      await assert.rejects(new Anthropic({ baseURL: bad.origin, apiKey: 'k', maxRetries: 0 }).messages.create({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
        assert.ok(e instanceof Anthropic.APIError);
        assert.equal(e.status, 529);
        assert.equal(e.type, 'overloaded_error');
        return true;
      });
    } finally {
      await ok.close();
      await bad.close();
    }
  });
});

describe('lenient translation for pass-through (issue 18)', () => {
  const serverTurn = {
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    context_management: { edits: [] },
    tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }, { name: 'get_weather', input_schema: { type: 'object' } }],
    tool_choice: { type: 'auto' },
    messages: [
      { role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is blue.' }, citations: { enabled: true } }, { type: 'text', text: 'What colour is the sky?' }] },
      { role: 'assistant', content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'sky' } }, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }, { type: 'text', text: 'Blue.' }] },
      { role: 'user', content: 'Thanks' },
    ],
  };

  test('strict (the default) refuses the first thing the canonical form cannot carry', () => {
    assert.throws(() => anthropicRequestToOpenAI(serverTurn), (e: unknown) => e instanceof SluiceError && e.status === 400);
  });

  test('lenient skips what it cannot carry, keeps the rest, and returns the first refusal', () => {
    const refusals = new Refusals(false);
    const out = anthropicRequestToOpenAI(serverTurn, refusals);
    assert.ok(refusals.first instanceof SluiceError);
    assert.equal(refusals.first.status, 400);
    assert.equal(refusals.first.param, 'messages[1].content[0].type');
    assert.deepEqual(out.messages, [
      { role: 'user', content: 'What colour is the sky?' },
      { role: 'assistant', content: 'Blue.' },
      { role: 'user', content: 'Thanks' },
    ]);
    assert.deepEqual((out.tools as { function: { name: string } }[]).map((t) => t.function.name), ['get_weather']);
    assert.equal(out.context_management, undefined);
    // The client's body is not changed.
    assert.equal(serverTurn.messages[1]?.content.length, 3);
  });

  test('lenient with nothing to skip is the strict translation, without a refusal', () => {
    const refusals = new Refusals(false);
    assert.deepEqual(anthropicRequestToOpenAI(base, refusals), anthropicRequestToOpenAI(base));
    assert.equal(refusals.first, null);
  });
});
