import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { chatBody, historyToMessages, itemsToMessages, messagesToItems, passThroughTurn, responsesRequestToTurn } from '../../../src/surfaces/responses/request.js';
import { parseResponsesRequest } from '../../../src/surfaces/responses/schema.js';

const chat = (body: unknown, earlier: Record<string, unknown>[] = []): Record<string, unknown> => chatBody(responsesRequestToTurn(body), earlier);

function refuses(body: unknown, param: string): void {
  assert.throws(
    () => responsesRequestToTurn(body),
    (err: unknown) => err instanceof SluiceError && err.status === 400 && err.param === param,
    `expected a 400 naming ${param}`,
  );
}

describe('Responses request → chat body', () => {
  test('a string input is one user message; instructions lead as a system message', () => {
    assert.deepEqual(chat({ model: 'm', input: 'hi', instructions: 'Be brief.' }), {
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
    });
  });

  test('settings map: max_output_tokens, temperature, top_p, user, reasoning.effort, text.format, tools, tool_choice, parallel_tool_calls, stream', () => {
    const body = chat({
      model: 'm',
      input: 'hi',
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} }, strict: false, description: 'does f' }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      stream: true,
      store: true,
      metadata: { a: 'b' },
      include: ['reasoning.encrypted_content'],
      truncation: 'auto',
      service_tier: 'auto',
    });
    assert.deepEqual(body, {
      model: 'm',
      max_completion_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      tools: [{ type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: {} }, strict: false } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_object' },
      reasoning_effort: 'low',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  test('text.format json_schema carries name, schema, strict and description', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    assert.deepEqual(chat({ model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n', schema, strict: true, description: 'd' } } }).response_format, {
      type: 'json_schema',
      json_schema: { name: 'n', schema, strict: true, description: 'd' },
    });
    assert.equal(chat({ model: 'm', input: 'x', text: { format: { type: 'text' } } }).response_format, undefined);
    refuses({ model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n' } } }, 'text.format.schema');
  });

  test('function calls and their outputs become one assistant message with tool_calls, then tool messages', () => {
    const messages = itemsToMessages([
      { role: 'user', content: 'weather in Paris and Rome?' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"city":"Rome"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
      { type: 'reasoning', id: 'rs_1', summary: [] },
    ]);
    assert.deepEqual(messages, [
      { role: 'user', content: 'weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    ]);
  });

  test('user content parts: text, image by URL, inline file; a lone text part is a plain string', () => {
    const body = chat({
      model: 'm',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
            { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,BBBB' },
          ],
        },
      ],
    });
    assert.deepEqual(body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,BBBB' } },
        ],
      },
    ]);
  });

  test('earlier turns go between the instructions and this input', () => {
    const earlier = [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
    ];
    assert.deepEqual(chat({ model: 'm', input: 'three', instructions: 'sys' }, earlier).messages, [{ role: 'system', content: 'sys' }, ...earlier, { role: 'user', content: 'three' }]);
  });

  test('refusals name the field: hosted tools, other tool choices, unknown items and parts, unknown fields, background', () => {
    refuses({ model: 'm', input: 'x', tools: [{ type: 'function', name: 'f' }, { type: 'file_search' }] }, 'tools[1].type');
    refuses({ model: 'm', input: 'x', tool_choice: { type: 'web_search_preview' } }, 'tool_choice.type');
    refuses({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type');
    refuses({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, 'input[0].content[0].type');
    refuses({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }, 'input[0].content[0].image_url');
    refuses({ model: 'm', input: [{ role: 'tool', content: 'x' }] }, 'input[0].role');
    refuses({ model: 'm', input: [{ type: 'function_call', name: 'f' }] }, 'input[0].call_id');
    refuses({ model: 'm', input: 'x', conversation: 'conv_1' }, 'conversation');
    refuses({ model: 'm', input: 'x', background: true }, 'background');
    refuses({ model: 'm', input: 'x', temperature: 3 }, 'temperature');
    refuses({ input: 'x' }, 'model');
    refuses({ model: 'm', input: 42 }, 'input');
  });
});

describe('history kept as items (issue 18)', () => {
  test('historyToMessages leaves out what no chat target can take: server tool calls, reasoning, file references', () => {
    const items = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Search rivers.' }, { type: 'input_file', file_id: 'file_1' }] },
      { id: 'ws_1', type: 'web_search_call', status: 'completed' },
      { id: 'rs_1', type: 'reasoning', summary: [], encrypted_content: 'enc' },
      { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The Nile.', annotations: [{ type: 'url_citation', url: 'https://x' }] }] },
      { type: 'message', role: 'user', content: [{ type: 'input_file', file_id: 'file_2' }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: '42' },
    ];
    assert.deepEqual(historyToMessages(items), [
      { role: 'user', content: 'Search rivers.' },
      { role: 'assistant', content: 'The Nile.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '42' },
    ]);
  });

  test('messagesToItems (rows kept before migration 9) round-trips through itemsToMessages', () => {
    const messages = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '42' },
      { role: 'assistant', content: 'Done.' },
      { role: 'user', content: [{ type: 'text', text: 'Look' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
    ];
    assert.deepEqual(itemsToMessages(messagesToItems(messages)), [
      messages[0],
      messages[1],
      messages[2],
      messages[3],
      { role: 'user', content: [{ type: 'text', text: 'Look' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'auto' } }] },
    ]);
  });

  test('passThroughTurn: what chat cannot carry is left out; the input stands in when nothing is left, for estimates', () => {
    const req = parseResponsesRequest({ model: 'm', input: [{ type: 'item_reference', id: 'x' }], tools: [{ type: 'web_search_preview' }], max_output_tokens: 50, stream: true });
    assert.throws(() => responsesRequestToTurn(req), (err: unknown) => err instanceof SluiceError && err.status === 400);
    const turn = passThroughTurn(req);
    assert.deepEqual(turn.settings, { model: 'm', max_completion_tokens: 50, stream: true, stream_options: { include_usage: true } });
    assert.deepEqual(turn.messages, [{ role: 'user', content: JSON.stringify([{ type: 'item_reference', id: 'x' }]) }]);
  });
});
