import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { startMockServer, type MockServer } from '../../../src/mock/server.js';
import { GeminiAdapter } from '../../../src/providers/gemini/adapter.js';
import { compileGeminiProvider, geminiProviderSchema } from '../../../src/providers/gemini/config.js';
import type { JsonObject } from '../../../src/providers/types.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { asJson, call, collect, fixtureText, reassemble, scriptedUpstream } from '../helpers.js';

function adapter(baseUrl: string, pools: UpstreamPools): GeminiAdapter {
  return new GeminiAdapter(compileGeminiProvider('gem', geminiProviderSchema.parse({ type: 'gemini', baseUrl, apiKey: 'AIza-test' })), pools, () => 1_700_000_000_000);
}

describe('GeminiAdapter against the Gemini-flavoured mock', () => {
  let mock: MockServer;
  let pools: UpstreamPools;
  let gem: GeminiAdapter;
  const body = { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Tell me about rivers.' }] };

  before(async () => {
    mock = await startMockServer({ port: 0 });
    pools = new UpstreamPools();
    gem = adapter(`${mock.origin}/v1beta`, pools);
  });
  after(async () => {
    await pools.close();
    await mock.close();
  });

  test('JSON chat and a stream that reassembles to it, with usage', async () => {
    const r = await gem.send(call({ body }));
    const c = asJson(r);
    assert.equal(c.model, 'gemini-2.5-flash');
    const text = ((c.choices as JsonObject[])[0]!.message as JsonObject).content as string;
    assert.ok(text.split(' ').length >= 8);
    assert.equal(r.kind === 'json' && r.usage?.promptTokens, 8);
    const s = await collect(await gem.send(call({ body, stream: true, includeUsage: true })));
    assert.equal(s.error, null);
    assert.equal(reassemble(s.chunks).text, text);
    assert.equal(reassemble(s.chunks).finish, 'stop');
    assert.deepEqual(s.stream.usage(), r.kind === 'json' ? r.usage : null);
    assert.deepEqual(s.chunks.at(-1)?.choices, []);
  });

  test('max_tokens cuts the answer: finish_reason length', async () => {
    const c = asJson(await gem.send(call({ body: { ...body, max_tokens: 3 } })));
    const choice = (c.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'length');
    assert.equal(String((choice.message as JsonObject).content).split(' ').length, 3);
  });

  test('tool round trip: a named tool_choice gets a function call; its result gets text', async () => {
    const tools = [
      { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { term: { type: 'string' } }, required: ['term'] } } },
      { type: 'function', function: { name: 'other' } },
    ];
    const ask = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Define sluice.' }], tools, tool_choice: { type: 'function', function: { name: 'lookup' } } };
    const first = asJson(await gem.send(call({ body: ask })));
    const choice = (first.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = (choice.message as JsonObject).tool_calls as JsonObject[];
    assert.deepEqual(calls[0]!.function, { name: 'lookup', arguments: '{"term":"mock-term"}' });
    const followUp = { ...ask, tool_choice: 'auto', messages: [...ask.messages, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: calls[0]!.id, content: 'a gate' }] };
    const second = asJson(await gem.send(call({ body: followUp })));
    assert.equal((second.choices as JsonObject[])[0]!.finish_reason, 'stop');
    const streamed = reassemble((await collect(await gem.send(call({ body: ask, stream: true })))).chunks);
    assert.equal(streamed.finish, 'tool_calls');
    assert.equal(streamed.tools[0]?.name, 'lookup');
  });

  test('a blocked prompt is a 400 content-blocked error, JSON and stream alike', async () => {
    const blocked = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'please mock:block this' }] };
    for (const stream of [false, true]) {
      await assert.rejects(gem.send(call({ body: blocked, stream })), (e: unknown) => e instanceof SluiceError && e.status === 400 && /SAFETY/.test(e.message));
    }
  });

  test('embeddings through batchEmbedContents', async () => {
    const r = await gem.send(call({ endpoint: 'embeddings', body: { model: 'text-embedding-004', input: ['one', 'two'], dimensions: 16 } }));
    const list = asJson(r);
    const data = list.data as { index: number; embedding: number[] }[];
    assert.equal(data.length, 2);
    assert.equal(data[1]!.index, 1);
    assert.equal(data[0]!.embedding.length, 16);
    assert.deepEqual(r.kind === 'json' && r.usage, { promptTokens: 2, cachedPromptTokens: 0, completionTokens: 0, totalTokens: 2 });
  });

  test('429 keeps its status and Google status name; legacy completions are rejected', async () => {
    mock.configure({ status: 429, retryAfter: 2 });
    try {
      await assert.rejects(gem.send(call({ body })), (e: unknown) => e instanceof SluiceError && e.status === 429 && e.upstream?.code === 'RESOURCE_EXHAUSTED' && e.headers?.['retry-after'] === '2');
    } finally {
      mock.configure({ status: null, retryAfter: null });
    }
    await assert.rejects(gem.send(call({ endpoint: 'completions', body: { model: 'g', prompt: 'x' } })), (e: unknown) => e instanceof SluiceError && e.status === 400);
  });

  test('a stream cut mid-way is interrupted', async () => {
    mock.configure({ dropAfterChunks: 3 });
    try {
      const r = await collect(await gem.send(call({ body, stream: true })));
      assert.ok(r.error instanceof SluiceError && r.error.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
    } finally {
      mock.configure({ dropAfterChunks: null });
    }
  });
});

describe('GeminiAdapter wire details (scripted upstream)', () => {
  test('models/{model}:generateContent and :streamGenerateContent?alt=sse with x-goog-api-key', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, fixtureText('gemini/stream-text.sse'));
    const pools = new UpstreamPools();
    try {
      const a = adapter(`${up.origin}/v1beta`, pools);
      const s = await collect(await a.send(call({ body: { model: 'models/gemini-2.5-pro', messages: [{ role: 'user', content: 'x' }] }, stream: true })));
      assert.equal(reassemble(s.chunks).text, 'The sky is blue.');
      const req = up.requests[0]!;
      assert.equal(req.url, '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
      assert.equal(req.headers['x-goog-api-key'], 'AIza-test');
      assert.equal(req.headers.authorization, undefined);
      assert.deepEqual(JSON.parse(req.body), { contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
    } finally {
      await pools.close();
      await up.close();
    }
  });

  test('an error object as the first event rejects send() with its status', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, 'data: {"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}\n\n');
    const pools = new UpstreamPools();
    try {
      await assert.rejects(adapter(up.origin, pools).send(call({ body: { model: 'g', messages: [{ role: 'user', content: 'x' }] }, stream: true })), (e: unknown) => e instanceof SluiceError && e.status === 503 && e.code === 'SLUICE_ERR_UPSTREAM_STATUS');
    } finally {
      await pools.close();
      await up.close();
    }
  });
});
