import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { topLevelMember } from '../../src/upstream/json-tail.js';

const usage = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0 } };

describe('topLevelMember: a top-level member read from the tail, or undefined', () => {
  test('the usage of OpenAI-shaped answers, compact and pretty-printed, with members after it', () => {
    const answer = { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi "usage": {} }' } }], usage };
    assert.deepEqual(topLevelMember(JSON.stringify(answer), 'usage'), usage);
    assert.deepEqual(topLevelMember(JSON.stringify(answer, null, 2), 'usage'), usage);
    assert.deepEqual(topLevelMember(`  ${JSON.stringify({ ...answer, system_fingerprint: 'fp_{]' })}\n`, 'usage'), usage);
    assert.deepEqual(topLevelMember(JSON.stringify({ usage, choices: [] }), 'usage'), usage);
  });

  test('whatever it returns is what a full parse finds', () => {
    const texts = [
      JSON.stringify({ a: { usage: { x: 1 } } }),
      JSON.stringify({ a: [{ usage: { x: 1 } }] }),
      JSON.stringify({ usage: { x: 1 }, a: { usage: { y: 2 } } }),
      JSON.stringify({ usage: { x: 1 }, b: 'x', a: [{ usage: { y: 2 } }] }),
      JSON.stringify({ message: 'a "usage": {"x": 1}' }),
      JSON.stringify({ 'say "usage': { x: 1 } }),
      JSON.stringify({ 'say \\"usage': { x: 1 } }),
      JSON.stringify({ usage: { s: 'a}b]c{"d\\"' }, tail: ['}', '{'] }),
      JSON.stringify({ usage: null }),
      JSON.stringify({ usage: [1] }),
      JSON.stringify({ v: 'usage', usage: { x: 2 } }),
      JSON.stringify({ usage: { x: 1 } }),
    ];
    for (const text of texts) {
      const got = topLevelMember(text, 'usage');
      if (got !== undefined) assert.deepEqual(got, (JSON.parse(text) as Record<string, unknown>).usage, text);
    }
    // …and the common cases do take the short way.
    assert.deepEqual(topLevelMember(texts[11]!, 'usage'), { x: 1 });
    assert.deepEqual(topLevelMember(texts[10]!, 'usage'), { x: 2 });
    assert.deepEqual(topLevelMember(texts[7]!, 'usage'), { s: 'a}b]c{"d\\"' });
  });

  test('undefined when the text is not one object or the member is not cleanly there', () => {
    for (const text of ['', 'null', '<html>{"usage":{}}</html>', '[{"usage":{"x":1}}]', '{"usage":{"x":1}', '{"usage":{"x":1}} trailing', '{"usage":{"x":}}', '{"a":1}', '{"usage":null}', '{"usage":"x"}', '{"a":{"usage":{"x":1}}}', '{"a":[{"usage":{"x":1}}]}']) {
      assert.equal(topLevelMember(text, 'usage'), undefined, text);
    }
  });
});
