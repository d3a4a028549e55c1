import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { startMockServer, type MockServer } from '../../../src/mock/server.js';
import { AnthropicAdapter } from '../../../src/providers/anthropic/adapter.js';
import { anthropicProviderSchema, compileAnthropicProvider } from '../../../src/providers/anthropic/config.js';
import type { JsonObject } from '../../../src/providers/types.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { asJson, call, collect, fixtureText, reassemble, scriptedUpstream } from '../helpers.js';

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { location: { type: 'string' }, days: { type: 'integer' } }, required: ['location', 'days'] } },
};

function adapter(baseUrl: string, pools: UpstreamPools, extra: JsonObject = {}): AnthropicAdapter {
  const config = anthropicProviderSchema.parse({ type: 'anthropic', baseUrl, apiKey: 'sk-ant-test', ...extra });
  return new AnthropicAdapter(compileAnthropicProvider('claude', config), pools, () => 1_700_000_000_000);
}

describe('AnthropicAdapter against the Anthropic-flavoured mock', () => {
  let mock: MockServer;
  let pools: UpstreamPools;
  let claude: AnthropicAdapter;
  const body = { model: 'claude-sonnet-4-5', messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Tell me about rivers.' }] };

  before(async () => {
    mock = await startMockServer({ port: 0 });
    pools = new UpstreamPools();
    claude = adapter(mock.url, pools);
  });
  after(async () => {
    await pools.close();
    await mock.close();
  });

  test('JSON chat: an OpenAI completion with usage', async () => {
    const r = await claude.send(call({ body }));
    assert.equal(r.kind, 'json');
    const c = asJson(r);
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'claude-sonnet-4-5');
    assert.match(String(c.id), /^msg_/);
    const choice = (c.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'stop');
    const text = (choice.message as JsonObject).content as string;
    assert.ok(text.split(' ').length >= 8);
    assert.ok(r.kind === 'json' && r.usage !== null && r.usage.completionTokens === text.split(' ').length);
  });

  test('stream reassembles to the JSON answer; usage chunk only when asked, usage() always', async () => {
    const jsonAnswer = await claude.send(call({ body }));
    const json = asJson(jsonAnswer);
    const expected = ((json.choices as JsonObject[])[0]!.message as JsonObject).content;
    const plain = await collect(await claude.send(call({ body, stream: true })));
    assert.equal(plain.error, null);
    assert.equal(reassemble(plain.chunks).text, expected);
    assert.equal(reassemble(plain.chunks).finish, 'stop');
    assert.ok(plain.chunks.every((c) => !('usage' in c)));
    // "Be terse." + "Tell me about rivers." is 30 characters: 8 prompt tokens by the mock's estimate.
    assert.equal(jsonAnswer.kind === 'json' && jsonAnswer.usage?.promptTokens, 8);
    assert.deepEqual(plain.stream.usage(), jsonAnswer.kind === 'json' ? jsonAnswer.usage : null);
    const withUsage = await collect(await claude.send(call({ body, stream: true, includeUsage: true })));
    assert.deepEqual(withUsage.chunks.at(-1)?.choices, []);
    assert.equal((withUsage.chunks.at(-1)?.usage as JsonObject).completion_tokens, String(expected).split(' ').length);
  });

  test('tool round trip: required tool_choice → tool_calls; the tool result → a text answer', async () => {
    const ask = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'required' };
    const first = asJson(await claude.send(call({ body: ask })));
    const choice = (first.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = (choice.message as JsonObject).tool_calls as JsonObject[];
    assert.equal(calls.length, 1);
    const fn = calls[0]!.function as JsonObject;
    assert.equal(fn.name, 'get_weather');
    assert.deepEqual(JSON.parse(String(fn.arguments)), { location: 'mock-location', days: 42 });
    assert.match(String(calls[0]!.id), /^toolu_/);

    const followUp = {
      ...ask,
      tool_choice: 'auto',
      messages: [...ask.messages, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: calls[0]!.id, content: '{"temp":18}' }],
    };
    const second = asJson(await claude.send(call({ body: followUp })));
    const answer = (second.choices as JsonObject[])[0]!;
    assert.equal(answer.finish_reason, 'stop');
    assert.equal(typeof (answer.message as JsonObject).content, 'string');

    const streamed = await collect(await claude.send(call({ body: ask, stream: true })));
    const r = reassemble(streamed.chunks);
    assert.equal(r.finish, 'tool_calls');
    assert.deepEqual(r.tools, [{ id: calls[0]!.id, name: 'get_weather', arguments: fn.arguments }]);
  });

  test('529 overloaded keeps its status and Anthropic error type; 429 keeps Retry-After', async () => {
    mock.configure({ status: 529 });
    try {
      await assert.rejects(claude.send(call({ body })), (e: unknown) => {
        assert.ok(e instanceof SluiceError);
        assert.equal(e.code, 'SLUICE_ERR_UPSTREAM_STATUS');
        assert.equal(e.status, 529);
        assert.equal(e.upstream?.type, 'overloaded_error');
        return true;
      });
      mock.configure({ status: 429, retryAfter: 4 });
      await assert.rejects(claude.send(call({ body, stream: true })), (e: unknown) => e instanceof SluiceError && e.status === 429 && e.headers?.['retry-after'] === '4' && e.upstream?.type === 'rate_limit_error');
    } finally {
      mock.configure({ status: null, retryAfter: null });
    }
  });

  test('a stream cut mid-way is interrupted', async () => {
    mock.configure({ dropAfterChunks: 5 });
    try {
      const r = await collect(await claude.send(call({ body, stream: true })));
      assert.ok(r.chunks.length > 0);
      assert.ok(r.error instanceof SluiceError);
      assert.equal(r.error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
    } finally {
      mock.configure({ dropAfterChunks: null });
    }
  });

  test('embeddings and legacy completions are rejected with a clear 400', async () => {
    for (const endpoint of ['embeddings', 'completions'] as const) {
      await assert.rejects(claude.send(call({ endpoint, body: { model: 'claude', input: 'x', prompt: 'x' } })), (e: unknown) => e instanceof SluiceError && e.status === 400 && /Anthropic serves chat only/.test(e.message));
    }
  });
});

describe('AnthropicAdapter wire details (scripted upstream)', () => {
  test('POST {basePath}/messages with x-api-key, anthropic-version and the translated body', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, fixtureText('anthropic/message-text.json'));
    const pools = new UpstreamPools();
    try {
      const a = adapter(`${up.origin}/anthropic/v1`, pools, { version: '2024-01-01', defaultMaxTokens: 321, headers: { 'x-extra': '1' } });
      const r = await a.send(call({ body: { model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] } }));
      assert.equal(asJson(r).id, 'msg_01XFDUDYJgAACzvnptvVoYEL');
      const req = up.requests[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/anthropic/v1/messages');
      assert.equal(req.headers['x-api-key'], 'sk-ant-test');
      assert.equal(req.headers['anthropic-version'], '2024-01-01');
      assert.equal(req.headers['x-extra'], '1');
      assert.equal(req.headers.authorization, undefined);
      assert.deepEqual(JSON.parse(req.body), { model: 'claude-x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 321 });
    } finally {
      await pools.close();
      await up.close();
    }
  });

  test('an error event before any content rejects send() with the 529, so the router can fall back', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, fixtureText('anthropic/stream-error-first.sse'));
    const pools = new UpstreamPools();
    try {
      await assert.rejects(adapter(up.origin, pools).send(call({ body: { model: 'c', messages: [{ role: 'user', content: 'x' }] }, stream: true })), (e: unknown) => e instanceof SluiceError && e.status === 529 && e.code === 'SLUICE_ERR_UPSTREAM_STATUS');
    } finally {
      await pools.close();
      await up.close();
    }
  });

  test('an error event after content ends the stream as interrupted', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, fixtureText('anthropic/stream-error-midway.sse'));
    const pools = new UpstreamPools();
    try {
      const r = await collect(await adapter(up.origin, pools).send(call({ body: { model: 'c', messages: [{ role: 'user', content: 'x' }] }, stream: true })));
      assert.equal(reassemble(r.chunks).text, 'Partial');
      assert.ok(r.error instanceof SluiceError && r.error.code === 'SLUICE_ERR_STREAM_INTERRUPTED' && r.error.upstream?.type === 'overloaded_error');
    } finally {
      await pools.close();
      await up.close();
    }
  });

  test('a JSON answer to a streamed request is a bad response', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, fixtureText('anthropic/message-text.json'));
    const pools = new UpstreamPools();
    try {
      await assert.rejects(adapter(up.origin, pools).send(call({ body: { model: 'c', messages: [{ role: 'user', content: 'x' }] }, stream: true })), (e: unknown) => e instanceof SluiceError && e.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
    } finally {
      await pools.close();
      await up.close();
    }
  });
});
