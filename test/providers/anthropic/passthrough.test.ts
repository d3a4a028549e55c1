import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../../../src/errors.js';
import { AnthropicPassThroughStream, passThroughBody, passThroughHeaders, passThroughUsage } from '../../../src/providers/anthropic/passthrough.js';

const ev = (event: string, data: unknown) => ({ event, data: JSON.stringify(data) });

test('the client text is sent as is when the model is unchanged, else the body with the target model', () => {
  const text = '{"model":"m", "max_tokens":1,"x":1.50}';
  const body = { model: 'm', max_tokens: 1, x: 1.5 };
  assert.equal(passThroughBody({ schema: 'anthropic-messages', body, text, headers: {}, refusal: null }, 'm'), text);
  assert.deepEqual(JSON.parse(passThroughBody({ schema: 'anthropic-messages', body, text, headers: {}, refusal: null }, 'up')), { ...body, model: 'up' });
  assert.deepEqual(JSON.parse(passThroughBody({ schema: 'anthropic-messages', body, text: null, headers: {}, refusal: null }, 'm')), body);
});

test('anthropic-version is the client\'s or the provider\'s; anthropic-beta merges both; nothing else is taken from the client', () => {
  assert.deepEqual(passThroughHeaders({ 'anthropic-version': '2030-01-01', authorization: 'Bearer client', 'x-api-key': 'client' }, {}, '2023-06-01'), { 'anthropic-version': '2030-01-01' });
  assert.deepEqual(passThroughHeaders({ 'anthropic-beta': 'b, a' }, { 'anthropic-beta': 'a' }, '2023-06-01'), { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'a,b' });
});

test('usage of a whole message counts cache reads and writes in the prompt', () => {
  assert.deepEqual(passThroughUsage(JSON.stringify({ usage: { input_tokens: 1, cache_creation_input_tokens: 2, cache_read_input_tokens: 3, output_tokens: 4 } }), 'p'), { promptTokens: 6, cachedPromptTokens: 3, cacheWriteTokens: 2, completionTokens: 4, totalTokens: 10 });
  assert.throws(() => passThroughUsage('[]', 'p'), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
});

test('the stream passes events through as SSE text and reads usage on the way', () => {
  const s = new AnthropicPassThroughStream('p');
  assert.deepEqual(s.push(ev('message_start', { type: 'message_start', message: { usage: { input_tokens: 5, cache_read_input_tokens: 10, output_tokens: 1 } } })), ['event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":10,"output_tokens":1}}}\n\n']);
  assert.equal(s.committed, false);
  s.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking' } }));
  assert.equal(s.committed, true);
  s.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }));
  assert.throws(() => s.end(), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
  s.push(ev('message_stop', { type: 'message_stop' }));
  assert.deepEqual(s.end(), []);
  assert.deepEqual(s.usage(), { promptTokens: 15, cachedPromptTokens: 10, completionTokens: 9, totalTokens: 24 });
});

test('an error event before the first content block fails the attempt with its status (retryable); after it, the stream is interrupted', () => {
  const early = new AnthropicPassThroughStream('p');
  early.push(ev('message_start', { type: 'message_start', message: {} }));
  assert.throws(() => early.push(ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'busy' } })), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_UPSTREAM_STATUS' && e.status === 529);
  const late = new AnthropicPassThroughStream('p');
  late.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text' } }));
  assert.throws(() => late.push(ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'busy' } })), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
  assert.throws(() => late.push({ event: 'x', data: 'not json' }), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
});
