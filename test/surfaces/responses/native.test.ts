import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { earlierForUpstream, NativeResponsesFraming, upstreamRequest } from '../../../src/surfaces/responses/native.js';

type Json = Record<string, unknown>;

describe('the body a Responses-speaking provider gets', () => {
  test('store: false; previous_response_id replaced by the earlier items in front of the input', () => {
    const client = { model: 'm', previous_response_id: 'resp_1', input: 'And now?', instructions: 'Be brief.', future_field: 1 };
    const earlier = [
      { type: 'message', role: 'user', content: 'Hi' },
      { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] },
    ];
    assert.deepEqual(upstreamRequest(client, earlier, false), {
      model: 'm',
      instructions: 'Be brief.',
      future_field: 1,
      store: false,
      input: [
        { type: 'message', role: 'user', content: 'Hi' },
        { type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] },
        { type: 'message', role: 'user', content: 'And now?' },
      ],
    });
  });

  test('an item list input follows the earlier items as it came', () => {
    const input = [{ type: 'function_call_output', call_id: 'c1', output: '42' }];
    assert.deepEqual(upstreamRequest({ model: 'm', input }, [{ type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'f', arguments: '{}' }], false).input, [{ type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }, ...input]);
  });

  test('a kept turn asking for reasoning also asks for its encrypted content, once, beside what the client included', () => {
    assert.deepEqual(upstreamRequest({ model: 'm', input: 'x', reasoning: { effort: 'low' }, include: ['message.output_text.logprobs'] }, null, true).include, ['message.output_text.logprobs', 'reasoning.encrypted_content']);
    assert.deepEqual(upstreamRequest({ model: 'm', input: 'x', include: ['reasoning.encrypted_content'] }, null, true).include, ['reasoning.encrypted_content']);
    assert.equal(upstreamRequest({ model: 'm', input: 'x' }, null, false).include, undefined);
  });

  test('nothing to change (store: false, no continuation, no reasoning kept): the client’s own object', () => {
    const client = { model: 'm', input: 'x', store: false };
    assert.equal(upstreamRequest(client, null, false), client);
    assert.notEqual(upstreamRequest({ model: 'm', input: 'x' }, null, false).store, undefined);
  });

  test('earlier items: reasoning without encrypted content is left out; message and function call ids dropped; other items as kept', () => {
    const items: Json[] = [
      { id: 'rs_1', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'translated thoughts' }] },
      { id: 'rs_2', type: 'reasoning', summary: [], encrypted_content: 'enc' },
      { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'q' } },
      { id: 'msg_1', type: 'message', role: 'assistant', content: [] },
      { role: 'user', content: 'untyped' },
    ];
    assert.deepEqual(earlierForUpstream(items), [items[1], items[2], { type: 'message', role: 'assistant', content: [] }, { role: 'user', content: 'untyped' }]);
  });
});

describe('NativeResponsesFraming', () => {
  const frame = (type: string, data: Json, named = true): string => `${named ? `event: ${type}\n` : ''}data: ${JSON.stringify({ type, ...data })}\n\n`;

  test('frames pass unchanged; the completed response is kept; nothing is added at the end', () => {
    const kept: Json[] = [];
    const f = new NativeResponsesFraming({ keepNative: (r) => kept.push(r) });
    const delta = frame('response.output_text.delta', { delta: 'hi' });
    assert.equal(f.chunk(delta), delta);
    const done = frame('response.completed', { response: { id: 'resp_1', status: 'completed' } }, false);
    assert.equal(f.chunk(done), done);
    assert.deepEqual(kept, [{ id: 'resp_1', status: 'completed' }]);
    assert.equal(f.end(), '');
    assert.equal(f.error(new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED')), '');
  });

  test('a stream broken off gets an error event numbered after the last; after the upstream’s own failure, nothing more', () => {
    const f = new NativeResponsesFraming({ keepNative: () => assert.fail('nothing is kept') });
    f.chunk(frame('response.created', { sequence_number: 0 }));
    f.chunk(frame('response.in_progress', { sequence_number: 1 }));
    const sse = f.error(new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: 'broke' }));
    assert.match(sse, /^event: error\ndata: /);
    assert.deepEqual(JSON.parse(sse.slice(sse.indexOf('data: ') + 6)), { type: 'error', code: 'SLUICE_ERR_STREAM_INTERRUPTED', message: 'broke', param: null, sequence_number: 2 });
    const g = new NativeResponsesFraming({ keepNative: () => assert.fail('a failed response is not kept') });
    g.chunk(frame('response.failed', { response: { id: 'r', status: 'failed' } }));
    assert.equal(g.error(new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED')), '');
  });

  test('a response not kept: frames pass, the final one unparsed', () => {
    const f = new NativeResponsesFraming(null);
    const done = frame('response.completed', { response: { id: 'r' } });
    assert.equal(f.chunk(done), done);
    assert.equal(f.error(new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED')), '');
  });
});
