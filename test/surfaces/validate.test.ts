import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../../src/errors.js';
import type { Endpoint } from '../../src/providers/types.js';
import { quickChecks, schemaAccepts, validateBody } from '../../src/surfaces/validate.js';

/** Expects validateBody to throw SLUICE_ERR_INVALID_REQUEST; returns [param, message]. */
function rejection(endpoint: Endpoint, body: unknown): [string | null, string] {
  try {
    validateBody(endpoint, body);
  } catch (err) {
    assert.ok(err instanceof SluiceError, `expected SluiceError, got ${String(err)}`);
    assert.equal(err.code, 'SLUICE_ERR_INVALID_REQUEST');
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
    return [err.param, err.message];
  }
  assert.fail(`expected ${JSON.stringify(body)} to be rejected`);
}

const chat = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('validateBody: valid bodies pass through unchanged', () => {
  test('chat: same object, unknown fields kept', () => {
    const body = chat({ temperature: 0.5, tools: [{ type: 'function' }], x_custom: { a: 1 }, stream: true, stream_options: { include_usage: true, extra: 1 } });
    const snapshot = structuredClone(body);
    const out = validateBody('chat', body);
    assert.equal(out, body);
    assert.deepEqual(out, snapshot);
  });

  test('chat: messages with extra fields, nullable options', () => {
    const body = chat({ messages: [{ role: 'system', content: 's', name: 'n' }, { role: 'tool', tool_call_id: 't' }], max_tokens: null, n: null, stop: null, stream_options: null });
    assert.equal(validateBody('chat', body), body);
  });

  test('completions: string, array of strings, tokens, token arrays', () => {
    for (const prompt of ['hi', ['a', 'b'], [1, 2, 3], [[1], [2, 3]]]) {
      const body = { model: 'm', prompt, echo: true, max_tokens: 5, stop: ['\n'] };
      assert.equal(validateBody('completions', body), body);
    }
  });

  test('embeddings: string and arrays, dimensions and encoding_format', () => {
    for (const input of ['hi', ['a'], [1, 2], [[1, 2]]]) {
      const body = { model: 'm', input, dimensions: 256, encoding_format: 'base64', user: 'u' };
      assert.equal(validateBody('embeddings', body), body);
    }
  });
});

describe('validateBody: invalid bodies', () => {
  test('a body that is not an object', () => {
    for (const body of [null, [], 'text', 42, undefined]) {
      assert.deepEqual(rejection('chat', body), [null, 'The request body must be a JSON object.']);
    }
  });

  test('model: required, string, non-empty', () => {
    assert.deepEqual(rejection('chat', { messages: [{ role: 'user' }] }), ['model', 'Invalid request: "model" is required.']);
    assert.deepEqual(rejection('chat', chat({ model: 5 })), ['model', 'Invalid request: "model" must be a string naming a model.']);
    assert.deepEqual(rejection('chat', chat({ model: '' })), ['model', 'Invalid request: "model" must not be empty.']);
    assert.deepEqual(rejection('embeddings', { input: 'x' }), ['model', 'Invalid request: "model" is required.']);
    assert.deepEqual(rejection('completions', { prompt: 'x', model: null }), ['model', 'Invalid request: "model" must be a string naming a model.']);
  });

  test('messages: required, an array, not empty', () => {
    assert.deepEqual(rejection('chat', { model: 'm' }), ['messages', 'Invalid request: "messages" is required.']);
    assert.deepEqual(rejection('chat', chat({ messages: 'hi' })), ['messages', 'Invalid request: "messages" must be an array of messages.']);
    assert.deepEqual(rejection('chat', chat({ messages: [] })), ['messages', 'Invalid request: "messages" must contain at least one message.']);
  });

  test('messages[i]: an object with a string role', () => {
    assert.deepEqual(rejection('chat', chat({ messages: [{ content: 'x' }] })), ['messages[0].role', 'Invalid request: "messages[0].role" is required.']);
    assert.deepEqual(rejection('chat', chat({ messages: [{ role: 'user' }, { role: 1 }] })), ['messages[1].role', 'Invalid request: "messages[1].role" must be a string.']);
    assert.deepEqual(rejection('chat', chat({ messages: ['hello'] })), ['messages[0]', 'Invalid request: "messages[0]" must be an object with a role.']);
  });

  test('stream must be a boolean', () => {
    assert.deepEqual(rejection('chat', chat({ stream: 'yes' })), ['stream', 'Invalid request: "stream" must be a boolean.']);
    assert.equal(rejection('completions', { model: 'm', prompt: 'p', stream: 1 })[0], 'stream');
  });

  test('max_tokens must be a positive integer', () => {
    assert.deepEqual(rejection('chat', chat({ max_tokens: 0 })), ['max_tokens', 'Invalid request: "max_tokens" must be greater than 0.']);
    assert.deepEqual(rejection('chat', chat({ max_tokens: 1.5 })), ['max_tokens', 'Invalid request: "max_tokens" must be an integer.']);
    assert.deepEqual(rejection('chat', chat({ max_tokens: '5' })), ['max_tokens', 'Invalid request: "max_tokens" must be a number.']);
    assert.equal(rejection('chat', chat({ max_completion_tokens: -1 }))[0], 'max_completion_tokens');
  });

  test('sampling options are range-checked', () => {
    assert.deepEqual(rejection('chat', chat({ temperature: 3 })), ['temperature', 'Invalid request: "temperature" must be at most 2.']);
    assert.equal(rejection('chat', chat({ top_p: -0.1 }))[0], 'top_p');
    assert.equal(rejection('chat', chat({ n: 0 }))[0], 'n');
    assert.equal(rejection('chat', chat({ stop: 5 }))[0], 'stop');
    assert.equal(rejection('chat', chat({ stream_options: { include_usage: 'yes' } }))[0], 'stream_options.include_usage');
  });

  test('prompt: wrong type', () => {
    const msg = 'must be a string, an array of strings, or token arrays';
    assert.deepEqual(rejection('completions', { model: 'm', prompt: 5 }), ['prompt', `Invalid request: "prompt" ${msg}.`]);
    assert.deepEqual(rejection('completions', { model: 'm', prompt: [1.5] }), ['prompt', `Invalid request: "prompt" ${msg}.`]);
    assert.deepEqual(rejection('completions', { model: 'm', prompt: { text: 'x' } }), ['prompt', `Invalid request: "prompt" ${msg}.`]);
  });

  test('input: wrong type, empty', () => {
    const msg = 'must be a string, an array of strings, or token arrays';
    assert.deepEqual(rejection('embeddings', { model: 'm', input: {} }), ['input', `Invalid request: "input" ${msg}.`]);
    assert.deepEqual(rejection('embeddings', { model: 'm', input: '' }), ['input', 'Invalid request: "input" must not be empty.']);
    assert.deepEqual(rejection('embeddings', { model: 'm', input: [] }), ['input', 'Invalid request: "input" must not be empty.']);
    assert.deepEqual(rejection('embeddings', { model: 'm', input: 'x', encoding_format: 'int8' }), ['encoding_format', 'Invalid request: "encoding_format" must be one of "float", "base64".']);
    assert.equal(rejection('embeddings', { model: 'm', input: 'x', dimensions: 0 })[0], 'dimensions');
  });

  test('missing prompt / input say "is required", like missing model and messages', () => {
    assert.deepEqual(rejection('completions', { model: 'm' }), ['prompt', 'Invalid request: "prompt" is required.']);
    assert.deepEqual(rejection('embeddings', { model: 'm' }), ['input', 'Invalid request: "input" is required.']);
  });

  test('missing prompt / input are rejected with the right param', () => {
    assert.equal(rejection('completions', { model: 'm' })[0], 'prompt');
    assert.equal(rejection('embeddings', { model: 'm' })[0], 'input');
  });

  test('the first problem is reported when there are several', () => {
    assert.deepEqual(rejection('chat', {}), ['model', 'Invalid request: "model" is required.']);
  });
});

describe('validateBody: the hand-written fast path never accepts what the schema rejects', () => {
  // Values of every shape, for every field either check looks at.
  const values: unknown[] = [undefined, null, true, false, 0, 1, -1, 1.5, 2, 2.5, 3, 0.5, 2 ** 53, '', 'x', 'float', 'base64', 'int8', [], [''], ['a', 'b'], [1, 2], [1.5], [[1]], [['a']], {}, { include_usage: true }, { include_usage: 'yes' }, { role: 'user' }, [{ role: 'user' }], [{ role: 1 }], [{}], ['hello'], [null], [{ role: 'user' }, 'x']];
  const fields = ['model', 'stream', 'stream_options', 'max_tokens', 'n', 'temperature', 'top_p', 'stop', 'messages', 'max_completion_tokens', 'prompt', 'input', 'dimensions', 'encoding_format'];
  const bases: Record<Endpoint, Record<string, unknown>> = {
    chat: chat(),
    completions: { model: 'm', prompt: 'hi' },
    embeddings: { model: 'm', input: 'hi' },
  };

  test('every field set to every kind of value, one at a time and in pairs', () => {
    let quick = 0;
    for (const endpoint of ['chat', 'completions', 'embeddings'] as const) {
      const check = (body: Record<string, unknown>): void => {
        if (!quickChecks[endpoint](body)) return;
        quick++;
        assert.ok(schemaAccepts(endpoint, body), `${endpoint}: the fast path accepted ${JSON.stringify(body)}, which the schema rejects`);
      };
      for (const field of fields) {
        for (const value of values) {
          check({ ...bases[endpoint], [field]: value });
          for (const other of ['max_tokens', 'stream', 'temperature']) check({ ...bases[endpoint], [field]: value, [other]: 1 });
        }
      }
    }
    // The common bodies take the fast path (else it would be pointless).
    assert.ok(quick > 100, `only ${quick} bodies took the fast path`);
    for (const endpoint of ['chat', 'completions', 'embeddings'] as const) assert.ok(quickChecks[endpoint](bases[endpoint]));
  });
});
