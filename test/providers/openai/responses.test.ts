import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { ResponsesPassThroughStream, responsesJsonUsage, responsesUpstreamBody, usageFromResponses } from '../../../src/providers/openai/responses.js';
import type { NativeRequest } from '../../../src/providers/types.js';
import type { SseEvent } from '../../../src/upstream/sse.js';

const ev = (type: string, data: Record<string, unknown> = {}, named = true): SseEvent => ({ event: named ? type : null, data: JSON.stringify({ type, ...data }) });
const USAGE = { input_tokens: 100, input_tokens_details: { cached_tokens: 60 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 25 }, total_tokens: 140 };

describe('Responses usage', () => {
  test('input (cached part included), output (reasoning part included), total', () => {
    assert.deepEqual(usageFromResponses(USAGE), { promptTokens: 100, cachedPromptTokens: 60, completionTokens: 40, totalTokens: 140, reasoningTokens: 25 });
  });

  test('cache writes when the answer counts them; zero details are left out; total derived when absent', () => {
    assert.deepEqual(usageFromResponses({ input_tokens: 10, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 4 }, output_tokens: 2 }), { promptTokens: 10, cachedPromptTokens: 0, completionTokens: 2, totalTokens: 12, cacheWriteTokens: 4 });
  });

  test('absent or malformed: null; a body that is not JSON is a bad response', () => {
    assert.equal(usageFromResponses(null), null);
    assert.equal(usageFromResponses({ prompt_tokens: 3 }), null);
    assert.equal(responsesJsonUsage('{"id":"resp_1","usage":null}', 'p'), null);
    assert.throws(() => responsesJsonUsage('not json', 'p'), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });
});

describe('the upstream body', () => {
  const native = (body: Record<string, unknown>, text: string | null): NativeRequest => ({ schema: 'openai-responses', body, text, headers: {}, refusal: null });

  test('the prepared text when the model is already the target’s; else the object with the target’s model', () => {
    const text = '{ "model": "gpt-5", "input": "hi" }';
    assert.equal(responsesUpstreamBody(native({ model: 'gpt-5', input: 'hi' }, text), 'gpt-5'), text);
    assert.deepEqual(JSON.parse(responsesUpstreamBody(native({ model: 'alias', input: 'hi', x: 1 }, text), 'gpt-5')), { model: 'gpt-5', input: 'hi', x: 1 });
  });
});

describe('ResponsesPassThroughStream', () => {
  test('events pass as they came, named or not; usage from response.completed; [DONE] dropped', () => {
    const s = new ResponsesPassThroughStream('p');
    const created = ev('response.created', { sequence_number: 0, response: { id: 'r' } });
    assert.deepEqual(s.push(created), [`event: response.created\ndata: ${created.data}\n\n`]);
    assert.equal(s.committed, false);
    const delta = ev('response.output_text.delta', { delta: 'hi' });
    assert.deepEqual(s.push(delta), [`event: response.output_text.delta\ndata: ${delta.data}\n\n`]);
    assert.equal(s.committed, true);
    const unnamed = ev('response.sluice_future_event', { x: 1 }, false);
    assert.deepEqual(s.push(unnamed), [`data: ${unnamed.data}\n\n`]);
    s.push(ev('response.completed', { response: { id: 'r', status: 'completed', usage: USAGE } }));
    assert.deepEqual(s.push({ event: null, data: '[DONE]' }), []);
    assert.deepEqual(s.end(), []);
    assert.equal(s.usage()?.reasoningTokens, 25);
  });

  test('output item events commit; response.in_progress does not', () => {
    const s = new ResponsesPassThroughStream('p');
    s.push(ev('response.in_progress', { response: {} }));
    assert.equal(s.committed, false);
    s.push(ev('response.output_item.added', { item: { type: 'message' } }));
    assert.equal(s.committed, true);
  });

  test('an error before any output fails the attempt as an upstream error (retry, fallback)', () => {
    const s = new ResponsesPassThroughStream('p');
    s.push(ev('response.created', { response: {} }));
    assert.throws(() => s.push(ev('error', { code: 'server_error', message: 'boom' })), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_STATUS' && err.status === 502 && /boom/.test(err.message));
    const f = new ResponsesPassThroughStream('p');
    assert.throws(() => f.push(ev('response.failed', { response: { error: { code: 'server_error', message: 'failed early' } } })), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_STATUS' && /failed early/.test(err.message));
  });

  test('after output, response.failed reaches the client and the stream ends as interrupted', () => {
    const s = new ResponsesPassThroughStream('p');
    s.push(ev('response.output_text.delta', { delta: 'hi' }));
    const failed = ev('response.failed', { response: { error: { code: 'server_error', message: 'late' }, usage: USAGE } });
    assert.deepEqual(s.push(failed), [`event: response.failed\ndata: ${failed.data}\n\n`]);
    assert.throws(() => s.end(), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_STREAM_INTERRUPTED' && /late/.test(err.message));
    assert.equal(s.usage()?.promptTokens, 100);
  });

  test('a stream that ends without a terminal event is interrupted; an event that is not JSON is a bad response', () => {
    const s = new ResponsesPassThroughStream('p');
    s.push(ev('response.output_text.delta', { delta: 'hi' }));
    assert.throws(() => s.end(), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.throws(() => new ResponsesPassThroughStream('p').push({ event: 'response.created', data: 'nope' }), (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });
});
