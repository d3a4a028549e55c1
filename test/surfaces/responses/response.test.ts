import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { chatCompletionToResponse, responseShell, type ResponseHead } from '../../../src/surfaces/responses/response.js';
import { parseResponsesRequest } from '../../../src/surfaces/responses/schema.js';

const head = (body: Record<string, unknown>): ResponseHead => ({ id: 'resp_1', createdAt: 1700000000, request: parseResponsesRequest({ model: 'm', input: 'x', ...body }), store: true });

/** The Response schema's required fields (OpenAI spec, components.schemas.Response). */
const REQUIRED = ['id', 'object', 'created_at', 'error', 'incomplete_details', 'instructions', 'model', 'tools', 'output', 'parallel_tool_calls', 'metadata', 'tool_choice', 'temperature', 'top_p'];

describe('chat.completion → Response', () => {
  test('text, usage and every required field', () => {
    const res = chatCompletionToResponse(
      {
        id: 'c',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 6 }, completion_tokens_details: { reasoning_tokens: 1 } },
      },
      head({ instructions: 'be nice' }),
    );
    for (const key of REQUIRED) assert.ok(Object.hasOwn(res, key), `missing ${key}`);
    assert.equal(res.status, 'completed');
    assert.equal(res.created_at, 1700000000);
    assert.equal(res.instructions, 'be nice');
    assert.equal(Object.hasOwn(res, 'output_text'), false, 'output_text is derived by SDKs, not sent');
    const [message] = res.output as Record<string, unknown>[];
    assert.match(String(message!.id), /^msg_/);
    assert.deepEqual({ ...message, id: 'x' }, { id: 'x', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello.', annotations: [], logprobs: [] }] });
    assert.deepEqual(res.usage, { input_tokens: 10, input_tokens_details: { cached_tokens: 6 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 14 });
  });

  test('tool calls become function_call items; a length stop is incomplete with max_output_tokens', () => {
    const res = chatCompletionToResponse(
      {
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'length' }],
      },
      head({}),
    );
    assert.equal(res.status, 'incomplete');
    assert.deepEqual(res.incomplete_details, { reason: 'max_output_tokens' });
    const [call] = res.output as Record<string, unknown>[];
    assert.deepEqual({ ...call, id: 'x' }, { id: 'x', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'f', arguments: '{"a":1}' });
  });

  test('a refusal is a refusal content part', () => {
    const res = chatCompletionToResponse({ choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'No.' }, finish_reason: 'stop' }] }, head({}));
    assert.deepEqual((res.output as { content: unknown }[])[0]!.content, [{ type: 'refusal', refusal: 'No.' }]);
  });

  test('an answer without choices is a 502', () => {
    assert.throws(() => chatCompletionToResponse({ id: 'c' }, head({})), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });

  test('the shell echoes the request settings with the spec defaults', () => {
    const shell = responseShell(head({ tools: [{ type: 'function', name: 'f' }], tool_choice: 'required', metadata: { k: 'v' } }), 'in_progress');
    assert.equal(shell.status, 'in_progress');
    assert.deepEqual(shell.tools, [{ type: 'function', name: 'f' }]);
    assert.equal(shell.tool_choice, 'required');
    assert.deepEqual(shell.metadata, { k: 'v' });
    assert.equal(shell.temperature, 1);
    assert.equal(shell.top_p, 1);
    assert.equal(shell.store, true);
    assert.deepEqual(shell.text, { format: { type: 'text' } });
  });

  test('reasoning_content (or reasoning) becomes a reasoning item before the message', () => {
    for (const field of ['reasoning_content', 'reasoning']) {
      const res = chatCompletionToResponse({ choices: [{ index: 0, message: { role: 'assistant', content: 'A.', [field]: 'Because.' }, finish_reason: 'stop' }] }, head({}));
      const [reasoning, message] = res.output as Record<string, unknown>[];
      assert.match(String(reasoning!.id), /^rs_/);
      assert.deepEqual({ ...reasoning, id: 'x' }, { id: 'x', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Because.' }], status: 'completed' });
      assert.equal(message!.type, 'message');
    }
  });
});
