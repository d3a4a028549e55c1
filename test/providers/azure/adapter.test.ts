import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { startMockServer, type MockServer } from '../../../src/mock/server.js';
import { AzureOpenAIAdapter } from '../../../src/providers/azure/adapter.js';
import { AZURE_API_VERSION, azureOpenAIProviderSchema, compileAzureOpenAIProvider } from '../../../src/providers/azure/config.js';
import { azureDeployment, azureHeaders, azurePath } from '../../../src/providers/azure/url.js';
import type { JsonObject } from '../../../src/providers/types.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { asJson, call, collect, reassemble, scriptedUpstream } from '../helpers.js';

function adapter(baseUrl: string, pools: UpstreamPools, extra: JsonObject = {}): AzureOpenAIAdapter {
  return new AzureOpenAIAdapter(compileAzureOpenAIProvider('azure', azureOpenAIProviderSchema.parse({ type: 'azure-openai', baseUrl, apiKey: 'azure-key', ...extra })), pools);
}

describe('Azure OpenAI URL and headers', () => {
  const target = { apiVersion: '2024-10-21', deployments: { 'gpt-4o': 'prod-gpt4o', 'text-embedding-3-small': 'emb' } };

  test('the deployment comes from the deployments map, else the model name', () => {
    assert.equal(azureDeployment(target, 'gpt-4o'), 'prod-gpt4o');
    assert.equal(azureDeployment(target, 'gpt-4o-mini'), 'gpt-4o-mini');
    assert.equal(azureDeployment(target, 'constructor'), 'constructor', 'no prototype lookups');
  });

  test('paths per endpoint, with the api-version query; names are encoded', () => {
    assert.equal(azurePath(target, 'chat', 'gpt-4o'), '/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
    assert.equal(azurePath(target, 'completions', 'davinci'), '/openai/deployments/davinci/completions?api-version=2024-10-21');
    assert.equal(azurePath(target, 'embeddings', 'text-embedding-3-small'), '/openai/deployments/emb/embeddings?api-version=2024-10-21');
    assert.equal(azurePath({ apiVersion: '2025-01-01-preview', deployments: {} }, 'chat', 'a b'), '/openai/deployments/a%20b/chat/completions?api-version=2025-01-01-preview');
  });

  test('the key goes in api-key, not Authorization', () => {
    assert.deepEqual(azureHeaders('k'), { 'api-key': 'k' });
    assert.deepEqual(azureHeaders(null), {});
  });

  test('config: baseUrl required, apiVersion and deployments defaulted', () => {
    const c = azureOpenAIProviderSchema.parse({ type: 'azure-openai', baseUrl: 'https://res.openai.azure.com/' });
    assert.equal(c.apiVersion, AZURE_API_VERSION);
    assert.deepEqual(c.deployments, {});
    const rt = compileAzureOpenAIProvider('az', c);
    assert.equal(rt.origin, 'https://res.openai.azure.com');
    assert.equal(rt.basePath, '');
    assert.equal(rt.apiKey, null);
    assert.equal(azureOpenAIProviderSchema.safeParse({ type: 'azure-openai' }).success, false);
  });
});

describe('AzureOpenAIAdapter against the mock (Azure paths)', () => {
  let mock: MockServer;
  let pools: UpstreamPools;
  let azure: AzureOpenAIAdapter;
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Tell me about rivers.' }] };

  before(async () => {
    mock = await startMockServer({ port: 0 });
    pools = new UpstreamPools();
    azure = adapter(mock.origin, pools, { deployments: { 'gpt-4o': 'prod-gpt4o' } });
  });
  after(async () => {
    await pools.close();
    await mock.close();
  });

  test('chat JSON, stream (usage asked for and stripped), embeddings', async () => {
    const r = await azure.send(call({ body }));
    const c = asJson(r);
    assert.equal(c.object, 'chat.completion');
    assert.ok(r.kind === 'json' && r.usage !== null && r.usage.completionTokens > 0);
    const s = await collect(await azure.send(call({ body, stream: true })));
    assert.equal(s.error, null);
    assert.equal(reassemble(s.chunks).text, ((c.choices as JsonObject[])[0]!.message as JsonObject).content);
    assert.ok(s.chunks.every((ch) => (ch.choices as unknown[]).length > 0), 'the usage chunk the client did not ask for is stripped');
    assert.deepEqual(s.stream.usage(), r.kind === 'json' ? r.usage : null);
    const e = asJson(await azure.send(call({ endpoint: 'embeddings', body: { model: 'emb', input: 'x' } })));
    assert.equal((e.data as unknown[]).length, 1);
  });

  test('tool calls pass through unchanged', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } } }];
    const c = asJson(await azure.send(call({ body: { ...body, tools, tool_choice: 'required' } })));
    const choice = (c.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal((((choice.message as JsonObject).tool_calls as JsonObject[])[0]!.function as JsonObject).arguments, '{"n":42}');
  });

  test('an error status passes through', async () => {
    mock.configure({ status: 429, retryAfter: 1 });
    try {
      await assert.rejects(azure.send(call({ body })), (e: unknown) => e instanceof SluiceError && e.status === 429 && e.headers?.['retry-after'] === '1');
    } finally {
      mock.configure({ status: null, retryAfter: null });
    }
  });
});

describe('AzureOpenAIAdapter wire details (scripted upstream)', () => {
  test('deployment path, api-version query and api-key header; the body is the client body', async () => {
    const answer = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
    const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, answer);
    const pools = new UpstreamPools();
    try {
      const a = adapter(`${up.origin}/`, pools, { apiVersion: '2024-06-01', deployments: { 'gpt-4o': 'dep1' } });
      const r = await a.send(call({ body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } }));
      assert.equal(r.kind === 'json' && r.body, answer, 'the answer is passed through byte for byte');
      assert.deepEqual(r.kind === 'json' && r.usage, { promptTokens: 1, cachedPromptTokens: 0, completionTokens: 2, totalTokens: 3 });
      const req = up.requests[0]!;
      assert.equal(req.url, '/openai/deployments/dep1/chat/completions?api-version=2024-06-01');
      assert.equal(req.headers['api-key'], 'azure-key');
      assert.equal(req.headers.authorization, undefined);
      assert.deepEqual(JSON.parse(req.body), { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    } finally {
      await pools.close();
      await up.close();
    }
  });
});

describe('Azure streams through the OpenAI transport (scripted upstream)', () => {
  const filterChunk = '{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}';
  const text = (c: string): string => `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${c}"},"finish_reason":null}]}`;
  const usage = '{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}';
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] };

  /** Streams `sse` from a scripted upstream through the Azure adapter. */
  async function streamOf(sse: string, includeUsage: boolean): Promise<Awaited<ReturnType<typeof collect>> & { sent: JsonObject }> {
    const up = await scriptedUpstream(200, { 'content-type': 'text/event-stream' }, sse);
    const pools = new UpstreamPools();
    try {
      const r = await collect(await adapter(up.origin, pools).send(call({ body, stream: true, includeUsage })));
      return { ...r, sent: JSON.parse(up.requests[0]!.body) as JsonObject };
    } finally {
      await pools.close();
      await up.close();
    }
  }

  test('chunks pass through; the usage chunk is asked for always and kept only when the client asked; usage() counts', async () => {
    const sse = [filterChunk, text('a'), text('b'), usage, '[DONE]'].map((d) => `data: ${d}\n\n`).join('');
    const kept = await streamOf(sse, true);
    assert.equal(kept.chunks.length, 4);
    const stripped = await streamOf(sse, false);
    assert.deepEqual(stripped.sent.stream_options, { include_usage: true }, 'usage is asked for on every stream');
    assert.equal(stripped.chunks.length, 3, 'the Azure filter chunk stays, the usage chunk goes');
    assert.deepEqual(stripped.stream.usage(), { promptTokens: 3, cachedPromptTokens: 0, completionTokens: 2, totalTokens: 5 });
  });

  test('no [DONE] is an interrupted stream; an error event too', async () => {
    const cut = await streamOf(`data: ${text('a')}\n\n`, false);
    assert.ok(cut.error instanceof SluiceError && /without \[DONE\]/.test(cut.error.message));
    const err = await streamOf(`data: ${text('a')}\n\nevent: error\ndata: {"error":{"message":"content filtered","code":"content_filter"}}\n\n`, false);
    assert.ok(err.error instanceof SluiceError && err.error.code === 'SLUICE_ERR_STREAM_INTERRUPTED' && err.error.upstream?.code === 'content_filter');
  });
});

describe('AzureOpenAIAdapter: the Responses API passed through (issue 18)', () => {
  const answer = JSON.stringify({ id: 'resp_az', object: 'response', status: 'completed', output: [], usage: { input_tokens: 7, output_tokens: 2, total_tokens: 9 } });
  const native = { schema: 'openai-responses' as const, body: { model: 'alias', input: 'hi', store: false }, text: null, headers: {}, refusal: null };

  test('responses: native by default: POST /openai/v1/responses, the deployment as the model, the api-key header; the answer as written', async () => {
    const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, answer);
    const pools = new UpstreamPools();
    try {
      const az = adapter(up.origin, pools, { deployments: { 'gpt-4o': 'prod-gpt4o' } });
      assert.ok(az.natives?.has('openai-responses'));
      const res = await az.send({ ...call({ body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } }), native });
      assert.equal(up.requests[0]!.url, '/openai/v1/responses');
      assert.equal(up.requests[0]!.headers['api-key'], 'azure-key');
      assert.deepEqual(JSON.parse(up.requests[0]!.body), { model: 'prod-gpt4o', input: 'hi', store: false });
      assert.equal(res.kind === 'json' ? res.body : null, answer);
      assert.equal(res.native, 'openai-responses');
      assert.deepEqual(res.kind === 'json' ? res.usage : null, { promptTokens: 7, cachedPromptTokens: 0, completionTokens: 2, totalTokens: 9 });
    } finally {
      await pools.close();
      await up.close();
    }
  });

  test('responses: translate: the native request is ignored, chat completions are sent', async () => {
    const chat = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, chat);
    const pools = new UpstreamPools();
    try {
      const az = adapter(up.origin, pools, { responses: 'translate' });
      assert.equal(az.natives, undefined);
      const res = await az.send({ ...call({ body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } }), native });
      assert.equal(up.requests[0]!.url, `/openai/deployments/gpt-4o/chat/completions?api-version=${AZURE_API_VERSION}`);
      assert.equal(res.native, undefined);
    } finally {
      await pools.close();
      await up.close();
    }
  });
});
