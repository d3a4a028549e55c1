/**
 * Tool calls round-trip through every translator pair: the place where gateways break (an
 * OpenAI→Anthropic tool translation once broke every tool request in Bifrost, its issue #3511).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anthropicRequestFromOpenAI } from '../../src/providers/anthropic/request.js';
import { openAIFromAnthropicMessage } from '../../src/providers/anthropic/response.js';
import { geminiRequestFromOpenAI } from '../../src/providers/gemini/request.js';
import { openAIFromGeminiResponse } from '../../src/providers/gemini/response.js';
import type { JsonObject } from '../../src/providers/types.js';
import { anthropicRequestToOpenAI, openAIResponseToAnthropic } from '../../src/surfaces/anthropic/index.js';
import { fixtureJson } from './helpers.js';

const weather = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] } },
};
const question = { role: 'user', content: 'Weather in San Francisco?' };

describe('tool round trips', () => {
  test('OpenAI tools → Anthropic tool_use → OpenAI tool_calls → tool result → Anthropic tool_result (cf. Bifrost #3511)', () => {
    const first = anthropicRequestFromOpenAI({ model: 'claude', messages: [question], tools: [weather], tool_choice: 'required' }, { provider: 'c', defaultMaxTokens: 1024 });
    assert.deepEqual(first.tools, [{ name: 'get_weather', description: 'Weather now', input_schema: weather.function.parameters }]);
    assert.deepEqual(first.tool_choice, { type: 'any' });

    const answer = openAIFromAnthropicMessage(fixtureJson('anthropic/message-tool-use.json'), { provider: 'c', created: 0 });
    const assistant = answer.choices[0]!.message;
    const call = assistant.tool_calls![0]!;
    assert.equal(answer.choices[0]!.finish_reason, 'tool_calls');

    // The client sends the assistant message back as it got it, plus the tool's result.
    const second = anthropicRequestFromOpenAI(
      { model: 'claude', messages: [question, assistant as unknown as JsonObject, { role: 'tool', tool_call_id: call.id, content: '{"temp":18}' }], tools: [weather] },
      { provider: 'c', defaultMaxTokens: 1024 },
    );
    assert.deepEqual(second.messages, [
      { role: 'user', content: 'Weather in San Francisco?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: "I'll look up the weather." },
          { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '{"temp":18}' }] },
    ]);
  });

  test('Anthropic client → OpenAI canonical → Anthropic provider: the tool conversation comes back the same', () => {
    const original = {
      model: 'claude',
      max_tokens: 500,
      system: 'Be terse.',
      tools: [{ name: 'get_weather', description: 'Weather now', input_schema: weather.function.parameters }],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather in San Francisco?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'SF' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: '18C' }, { type: 'text', text: 'And tomorrow?' }] },
      ],
    };
    const canonical = anthropicRequestToOpenAI(original);
    const back = anthropicRequestFromOpenAI(canonical, { provider: 'c', defaultMaxTokens: 1 });
    assert.deepEqual(back, {
      model: 'claude',
      system: 'Be terse.',
      messages: [
        { role: 'user', content: 'Weather in San Francisco?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'SF' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: '18C' }, { type: 'text', text: 'And tomorrow?' }] },
      ],
      max_tokens: 500,
      tools: original.tools,
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
  });

  test('Anthropic message → OpenAI completion → Anthropic message keeps tool_use blocks', () => {
    const message = fixtureJson('anthropic/message-tool-use.json');
    const back = openAIResponseToAnthropic(openAIFromAnthropicMessage(message, { provider: 'c', created: 0 }), 'claude-sonnet-4-5-20250929');
    assert.deepEqual(back.content, message.content);
    assert.equal(back.stop_reason, 'tool_use');
    assert.deepEqual(back.usage, { input_tokens: 472, output_tokens: 89, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  test('OpenAI tools → Gemini functionCall → OpenAI tool_calls → tool result → Gemini functionResponse by name', () => {
    const first = geminiRequestFromOpenAI({ model: 'g', messages: [question], tools: [weather], tool_choice: 'required' }, 'g');
    assert.deepEqual(first.tools, [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather now', parametersJsonSchema: weather.function.parameters }] }]);
    const answer = openAIFromGeminiResponse(fixtureJson('gemini/response-function-call.json'), { provider: 'g', created: 0, model: 'g', fallbackId: 'x' });
    const assistant = answer.choices[0]!.message;
    const [a, b] = assistant.tool_calls!;
    const second = geminiRequestFromOpenAI(
      {
        model: 'g',
        messages: [question, assistant as unknown as JsonObject, { role: 'tool', tool_call_id: b!.id, content: '{"time":"09:00"}' }, { role: 'tool', tool_call_id: a!.id, content: 'sunny' }],
        tools: [weather],
      },
      'g',
    );
    assert.deepEqual((second.contents as JsonObject[]).slice(1), [
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Boston, MA' } } }, { functionCall: { name: 'get_time', args: { tz: 'EST' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { time: '09:00' } } }, { functionResponse: { name: 'get_weather', response: { content: 'sunny' } } }] },
    ]);
  });
});
