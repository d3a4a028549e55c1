import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { anthropicRequestFromOpenAI } from '../../../src/providers/anthropic/request.js';
import type { JsonObject } from '../../../src/providers/types.js';

const opts = { provider: 'claude', defaultMaxTokens: 4096 };
const translate = (body: JsonObject): JsonObject => anthropicRequestFromOpenAI({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }], ...body }, opts);

function rejects(body: JsonObject, param: string | null, pattern: RegExp): void {
  assert.throws(
    () => translate(body),
    (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'SLUICE_ERR_INVALID_REQUEST');
      assert.equal(err.param, param);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('OpenAI chat → Anthropic Messages request', () => {
  test('system and developer messages are hoisted in order; max_tokens defaults', () => {
    const out = anthropicRequestFromOpenAI(
      {
        model: 'claude-x',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        ],
      },
      opts,
    );
    assert.equal(out.model, 'claude-x');
    assert.equal(out.system, 'Be brief.\n\nAnswer in French.');
    assert.deepEqual(out.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(out.max_tokens, 4096);
    assert.equal(out.stream, undefined);
  });

  test('max_completion_tokens wins over max_tokens; sampling, stop, user, stream', () => {
    const out = translate({ max_tokens: 50, max_completion_tokens: 70, temperature: 0.3, top_p: 0.9, stop: 'END', user: 'u-1', stream: true, stream_options: { include_usage: true } });
    assert.equal(out.max_tokens, 70);
    assert.equal(out.temperature, 0.3);
    assert.equal(out.top_p, 0.9);
    assert.deepEqual(out.stop_sequences, ['END']);
    assert.deepEqual(out.metadata, { user_id: 'u-1' });
    assert.equal(out.stream, true);
    assert.equal(out.stream_options, undefined);
    assert.deepEqual(translate({ max_tokens: 5, stop: ['a', 'b'] }).stop_sequences, ['a', 'b']);
    assert.equal(translate({ max_tokens: 5 }).max_tokens, 5);
  });

  test('consecutive same-role messages are merged into one turn of blocks', () => {
    const out = translate({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: [{ type: 'text', text: 'four' }, { type: 'refusal', refusal: 'no' }] },
        { role: 'user', content: 'five' },
      ],
    });
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'three' }, { type: 'text', text: 'four' }, { type: 'text', text: 'no' }] },
      { role: 'user', content: 'five' },
    ]);
  });

  test('images: data URLs become base64 sources, http(s) URLs url sources; PDFs become documents', () => {
    const out = translate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          ],
        },
      ],
    });
    assert.deepEqual((out.messages as JsonObject[])[0]!.content, [
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
    ]);
    rejects({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }, 'messages[0].content[0].image_url.url', /http\(s\) URL/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }, 'messages[0].content[0].type', /input_audio/);
  });

  test('assistant tool_calls become tool_use blocks; tool messages become one user turn of tool_result blocks', () => {
    const out = translate({
      messages: [
        { role: 'user', content: 'Weather in Paris and the time?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
        { role: 'user', content: 'Thanks' },
      ],
    });
    assert.deepEqual(out.messages, [
      { role: 'user', content: 'Weather in Paris and the time?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
  });

  test('invalid tool call arguments are a 400 naming the field', () => {
    rejects(
      { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] },
      'messages[0].tool_calls[0].function.arguments',
      /valid JSON/,
    );
    rejects({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }, 'messages[0].tool_calls[0].function.arguments', /JSON object/);
  });

  test('tools and every tool_choice form; parallel_tool_calls false disables parallel use', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, strict: true } },
      { type: 'function', function: { name: 'noop' } },
    ];
    const out = translate({ tools });
    assert.deepEqual(out.tools, [
      { name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, strict: true },
      { name: 'noop', input_schema: { type: 'object', properties: {} } },
    ]);
    assert.equal(out.tool_choice, undefined);
    assert.deepEqual(translate({ tools, tool_choice: 'none' }).tool_choice, { type: 'none' });
    assert.deepEqual(translate({ tools, tool_choice: 'auto' }).tool_choice, { type: 'auto' });
    assert.deepEqual(translate({ tools, tool_choice: 'required' }).tool_choice, { type: 'any' });
    assert.deepEqual(translate({ tools, tool_choice: { type: 'function', function: { name: 'noop' } } }).tool_choice, { type: 'tool', name: 'noop' });
    assert.deepEqual(translate({ tools, tool_choice: 'required', parallel_tool_calls: false }).tool_choice, { type: 'any', disable_parallel_tool_use: true });
    assert.deepEqual(translate({ tools, parallel_tool_calls: false }).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    assert.deepEqual(translate({ tools, tool_choice: 'none', parallel_tool_calls: false }).tool_choice, { type: 'none' });
    assert.equal(translate({ tool_choice: 'auto' }).tool_choice, undefined, 'no tools, no tool_choice');
    rejects({ tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type', /tools other than functions/);
    rejects({ tools, tool_choice: 'sometimes' }, 'tool_choice', /must be/);
  });

  test('parameters Anthropic cannot honour are 400s naming them', () => {
    rejects({ n: 2 }, 'n', /n greater than 1/);
    rejects({ logprobs: true }, 'logprobs', /logprobs/);
    rejects({ top_logprobs: 2 }, 'top_logprobs', /top_logprobs/);
    rejects({ presence_penalty: 0.5 }, 'presence_penalty', /presence_penalty/);
    rejects({ frequency_penalty: -1 }, 'frequency_penalty', /frequency_penalty/);
    rejects({ logit_bias: { '50256': -100 } }, 'logit_bias', /logit_bias/);
    rejects({ temperature: 1.5 }, 'temperature', /0 to 1/);
    rejects({ response_format: { type: 'json_object' } }, 'response_format', /json_object/);
    rejects({ modalities: ['text', 'audio'] }, 'modalities', /modalities/);
    rejects({ audio: { voice: 'alloy', format: 'wav' } }, 'audio', /audio/);
    rejects({ reasoning_effort: 'minimal' }, 'reasoning_effort', /minimal/);
    rejects({ functions: [{ name: 'f' }] }, 'functions', /legacy functions/);
    rejects({ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role', /function/);
    assert.match(String(new SluiceError('SLUICE_ERR_INVALID_REQUEST').type), /invalid_request_error/);
  });

  test('harmless defaults and hints are accepted and dropped', () => {
    const out = translate({ n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0, logit_bias: {}, seed: 7, store: true, metadata: { a: 'b' }, service_tier: 'auto', response_format: { type: 'text' }, modalities: ['text'] });
    for (const key of ['n', 'logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed', 'store', 'metadata', 'service_tier', 'response_format', 'modalities']) {
      assert.ok(!(key in out) || key === 'metadata', `${key} should be dropped`);
    }
    assert.equal(out.metadata, undefined, 'OpenAI metadata is not Anthropic metadata');
  });

  test('json_schema response_format and reasoning_effort map to output_config', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    const out = translate({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } }, reasoning_effort: 'low' });
    assert.deepEqual(out.output_config, { format: { type: 'json_schema', schema }, effort: 'low' });
  });

  test('unknown keys are forwarded so Anthropic-only parameters reach Anthropic', () => {
    const out = translate({ top_k: 5, thinking: { type: 'enabled', budget_tokens: 1024 } });
    assert.equal(out.top_k, 5);
    assert.deepEqual(out.thinking, { type: 'enabled', budget_tokens: 1024 });
  });
});
