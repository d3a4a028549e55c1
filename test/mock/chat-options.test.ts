import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatOptions, chatRefusal, spacedJson, tokenLogprobs } from '../../src/mock/chat-options.js';

const msgs = [{ role: 'user', content: 'hi' }];

describe('what a chat request asks of the mock', () => {
  test('unsupported modalities are refused and name their field; text is fine', () => {
    assert.equal(chatRefusal({ messages: msgs, modalities: ['text'] }), null);
    assert.deepEqual(chatRefusal({ messages: msgs, modalities: ['text', 'audio'] }), { kind: 'modality', param: 'modalities', message: 'The model answers text only: output modality "audio" is not supported.' });
    assert.equal(chatRefusal({ messages: msgs, audio: { voice: 'alloy' } })?.param, 'audio');
    assert.equal(chatRefusal({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'input_audio', input_audio: {} }] }] })?.param, 'messages[0].content[1]');
    assert.equal(chatRefusal({ messages: msgs, tools: [{ type: 'image_generation' }] })?.param, 'tools[0]');
  });

  test('n, top_logprobs and response_format out of bounds are invalid', () => {
    for (const n of [0, 129, 1.5, '2']) assert.equal(chatRefusal({ messages: msgs, n })?.param, 'n', String(n));
    assert.equal(chatRefusal({ messages: msgs, n: 128 }), null);
    assert.equal(chatRefusal({ messages: msgs, top_logprobs: 2 })?.kind, 'invalid', 'top_logprobs needs logprobs');
    assert.equal(chatRefusal({ messages: msgs, logprobs: true, top_logprobs: 21 })?.param, 'top_logprobs');
    assert.equal(chatRefusal({ messages: msgs, response_format: { type: 'xml' } })?.param, 'response_format.type');
    assert.equal(chatRefusal({ messages: msgs, response_format: { type: 'json_schema' } })?.param, 'response_format.json_schema');
  });

  test('options: defaults, and the asked values', () => {
    assert.deepEqual(chatOptions({ messages: msgs }), { n: 1, format: null, logprobs: false, topLogprobs: 0 });
    const schema = { type: 'object', properties: {} };
    assert.deepEqual(chatOptions({ n: 3, logprobs: true, top_logprobs: 5, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }), { n: 3, format: { kind: 'json_schema', schema }, logprobs: true, topLogprobs: 5 });
    assert.deepEqual(chatOptions({ response_format: { type: 'json_object' } }).format, { kind: 'json_object' });
  });

  test('spaced JSON splits on spaces and joins back exactly, even with spaces inside strings', () => {
    const value = { a: [1, 'two  words', { b: null }], c: true };
    const text = spacedJson(value);
    assert.equal(text, '{"a": [1, "two  words", {"b": null}], "c": true}');
    assert.deepEqual(JSON.parse(text), value);
    assert.equal(text.split(' ').join(' '), text);
  });

  test('token logprobs: deterministic, ≤ 0, the token first among its alternatives, alternatives less likely', () => {
    const pieces = ['the', ' river', ' stone'];
    const a = tokenLogprobs(pieces, 4, 7, ['river', 'light']);
    assert.deepEqual(a, tokenLogprobs(pieces, 4, 7, ['river', 'light']));
    for (const [i, t] of a.entries()) {
      assert.equal(t.token, pieces[i]);
      assert.ok(t.logprob <= 0 && t.logprob >= -2);
      assert.equal(t.top_logprobs[0]!.token, t.token);
      for (let k = 1; k < t.top_logprobs.length; k++) {
        assert.ok(t.top_logprobs[k]!.logprob < t.top_logprobs[k - 1]!.logprob);
        assert.notEqual(t.top_logprobs[k]!.token, t.token);
      }
    }
    assert.deepEqual(tokenLogprobs(pieces, 0, 7, ['x'])[0]!.top_logprobs, []);
  });
});
