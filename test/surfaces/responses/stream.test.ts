import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import type { ResponseHead } from '../../../src/surfaces/responses/response.js';
import { parseResponsesRequest } from '../../../src/surfaces/responses/schema.js';
import { ChatToResponsesStream } from '../../../src/surfaces/responses/stream.js';
import { parseSseText } from '../../helpers/gateway.js';

const head: ResponseHead = { id: 'resp_1', createdAt: 1, request: parseResponsesRequest({ model: 'm', input: 'x' }), store: false };
const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown): string => JSON.stringify({ id: 'c', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage === undefined ? {} : { usage }) });
const types = (sse: string): string[] => parseSseText(sse).map((e) => e.event ?? '');

describe('chat chunks → Responses events', () => {
  test('text, then two tool calls: each item closes before the next opens; usage on the last event', () => {
    const s = new ChatToResponsesStream(head);
    let sse = s.push(chunk({ role: 'assistant', content: 'Hi' }));
    sse += s.push(chunk({ content: ' there' }));
    sse += s.push(chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"x"' } }] }));
    sse += s.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }));
    sse += s.push(chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'b', arguments: '{}' } }] }, 'tool_calls'));
    sse += s.push(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }));
    const { sse: tail, response } = s.finish();
    sse += tail;
    assert.deepEqual(types(sse), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const output = response.output as Record<string, unknown>[];
    assert.deepEqual(output.map((o) => o.type), ['message', 'function_call', 'function_call']);
    assert.equal((output[0]!.content as { text: string }[])[0]!.text, 'Hi there');
    assert.equal(output[1]!.arguments, '{"x":1}');
    assert.equal(output[2]!.call_id, 'call_b');
    assert.deepEqual(response.usage, { input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 8 });
    assert.equal(response.status, 'completed');
  });

  test('a refusal streams as refusal events and a refusal part', () => {
    const s = new ChatToResponsesStream(head);
    const sse = s.push(chunk({ refusal: 'No.' }, 'stop')) + s.finish().sse;
    assert.ok(types(sse).includes('response.refusal.delta'));
    assert.ok(types(sse).includes('response.refusal.done'));
  });

  test('fragments of a closed tool call are a broken stream (502)', () => {
    const s = new ChatToResponsesStream(head);
    s.push(chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'a', arguments: '{' } }] }));
    s.push(chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'b', arguments: '{' } }] }));
    assert.throws(() => s.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] })), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });

  test('a failure closes the open item as incomplete and ends with response.failed', () => {
    const s = new ChatToResponsesStream(head);
    s.push(chunk({ content: 'par' }));
    const { sse, response } = s.fail(new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED'));
    assert.deepEqual(types(sse).slice(-2), ['response.output_item.done', 'response.failed']);
    assert.equal(response.status, 'failed');
    assert.deepEqual(response.error, { code: 'SLUICE_ERR_STREAM_INTERRUPTED', message: 'The upstream stream ended before it was complete.' });
    assert.equal((response.output as { status: string }[])[0]!.status, 'incomplete');
    assert.equal(s.ended, true);
  });

  test('a stream with no chunks still starts and completes', () => {
    const s = new ChatToResponsesStream(head);
    assert.deepEqual(types(s.finish().sse), ['response.created', 'response.in_progress', 'response.completed']);
  });
});
