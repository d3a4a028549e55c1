import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** Issue 18: what the Anthropic SDK reads from the surface beyond the message itself. */
describe('Anthropic surface: request-id (issue 18)', () => {
  let mock: MockServer;
  let gw: TestGateway;
  let anthropic: Anthropic;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      providers: { claude: { type: 'anthropic', baseUrl: mock.url, apiKey: 'sk-ant-upstream' }, gpt: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'claude-*', targets: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }] },
        { match: 'gpt-*', targets: [{ provider: 'gpt' }] },
      ],
    });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('a JSON answer carries request-id: the SDK sets _request_id to the gateway request id', async () => {
    const message = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 32, messages: [{ role: 'user', content: 'Hi' }] }, { headers: { 'x-request-id': 'req-json-18' } });
    assert.equal(message._request_id, 'req-json-18');
  });

  test('a generated id is the same in request-id and x-request-id', async () => {
    const { response, request_id } = await anthropic.messages.create({ model: 'claude-sonnet', max_tokens: 32, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    const id = response.headers.get('x-request-id');
    assert.ok(id !== null && id !== '');
    assert.equal(request_id, id);
  });

  test('a stream carries request-id', async () => {
    const { data: stream, request_id } = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'Hi' }] }, { headers: { 'x-request-id': 'req-stream-18' } }).withResponse();
    let events = 0;
    for await (const _event of stream) events++;
    assert.ok(events > 0);
    assert.equal(request_id, 'req-stream-18');
  });

  test('an error carries request-id: err.requestID is set (routing error and body error)', async () => {
    await assert.rejects(anthropic.messages.create({ model: 'nothing-serves-this', max_tokens: 32, messages: [{ role: 'user', content: 'Hi' }] }, { headers: { 'x-request-id': 'req-err-18' } }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal(err.requestID, 'req-err-18');
      return true;
    });
    // A body the edge cannot parse is refused before the endpoint runs: still in the dialect, still with the id.
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-bad-18' }, body: '{"model":' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('request-id'), 'req-bad-18');
    assert.equal(((await res.json()) as { type: string }).type, 'error');
  });

  test('the OpenAI surface does not send request-id', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('request-id'), null);
    assert.ok(res.headers.get('x-request-id'));
  });
});

describe('GET /v1/models and /v1/models/{model} in both dialects (issue 18)', () => {
  const KEY = 'sk-models-issue18-0123456789abcdef';
  let mock: MockServer;
  let gw: TestGateway;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      auth: { required: true },
      keys: [{ key: KEY, name: 'models' }],
      providers: { claude: { type: 'anthropic', baseUrl: mock.url, apiKey: 'sk-ant-upstream' }, local: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'claude-sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }] },
        { match: 'meta/llama-3', targets: [{ provider: 'local' }] },
        { match: 'gpt-*', targets: [{ provider: 'local' }] },
      ],
    });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('the Anthropic SDK lists the models in Anthropic\'s shape', async () => {
    const page = await anthropic.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, ['claude-sonnet', 'meta/llama-3']);
    for (const m of page.data) {
      assert.equal(m.type, 'model');
      assert.equal(m.display_name, m.id);
      assert.ok(!Number.isNaN(Date.parse(m.created_at)));
    }
    assert.equal(page.has_more, false);
    assert.equal(page.first_id, 'claude-sonnet');
    assert.equal(page.last_id, 'meta/llama-3');
    const raw = (await anthropic.models.list().asResponse()).headers;
    assert.ok(raw.get('request-id'));
  });

  test('the Anthropic list pages with limit, after_id and before_id; the SDK walks every page', async () => {
    const first = await anthropic.models.list({ limit: 1 });
    assert.deepEqual(first.data.map((m) => m.id), ['claude-sonnet']);
    assert.equal(first.has_more, true);
    const all: string[] = [];
    for await (const m of anthropic.models.list({ limit: 1 })) all.push(m.id);
    assert.deepEqual(all, ['claude-sonnet', 'meta/llama-3']);
    const before = await anthropic.models.list({ before_id: 'meta/llama-3' });
    assert.deepEqual(before.data.map((m) => m.id), ['claude-sonnet']);
    assert.equal(before.has_more, false);
    const none = await anthropic.models.list({ after_id: 'no-such-model' });
    assert.deepEqual(none.data, []);
    await assert.rejects(anthropic.models.list({ limit: 0 }), (err: unknown) => err instanceof Anthropic.BadRequestError);
  });

  test('the openai SDK still gets OpenAI\'s list shape', async () => {
    const page = await openai.models.list();
    assert.deepEqual(page.data.map((m) => [m.id, m.object, m.owned_by]), [['claude-sonnet', 'model', 'claude'], ['meta/llama-3', 'model', 'local']]);
  });

  test('models.retrieve in both SDKs, a "/" in the id included', async () => {
    const o = await openai.models.retrieve('meta/llama-3');
    assert.deepEqual({ id: o.id, object: o.object, created: o.created, owned_by: o.owned_by }, { id: 'meta/llama-3', object: 'model', created: 0, owned_by: 'local' });
    const a = await anthropic.models.retrieve('claude-sonnet');
    assert.equal(a.type, 'model');
    assert.equal(a.id, 'claude-sonnet');
    assert.equal(a.display_name, 'claude-sonnet');
    const slash = await anthropic.models.retrieve('meta/llama-3');
    assert.equal(slash.id, 'meta/llama-3');
    // A model a glob route serves exists too; an unescaped "/" in the path is taken as part of the id.
    assert.equal((await openai.models.retrieve('gpt-4o')).owned_by, 'local');
    const res = await fetch(`${gw.url}/v1/models/meta/llama-3`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(((await res.json()) as { id: string }).id, 'meta/llama-3');
  });

  test('a model no route serves is a 404 in each dialect\'s error shape', async () => {
    await assert.rejects(openai.models.retrieve('no-such-model'), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal((err.error as { code?: string }).code, 'SLUICE_ERR_MODEL_NOT_FOUND');
      return true;
    });
    await assert.rejects(anthropic.models.retrieve('no-such-model'), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal((err.error as { error?: { type?: string } }).error?.type, 'not_found_error');
      assert.ok(err.requestID);
      return true;
    });
    const bad = await fetch(`${gw.url}/v1/models/%E0%A4%A`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(bad.status, 404);
  });

  test('retrieve is guarded like the list', async () => {
    const noKey = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(noKey.models.retrieve('claude-sonnet'), (err: unknown) => err instanceof OpenAI.AuthenticationError);
    const noKeyAnthropic = new Anthropic({ baseURL: gw.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(noKeyAnthropic.models.retrieve('claude-sonnet'), (err: unknown) => err instanceof Anthropic.AuthenticationError);
  });
});

describe('POST /v1/messages/count_tokens (issue 18)', () => {
  const KEY = 'sk-count-issue18-0123456789abcdef';
  let upstream: Server;
  let mock: MockServer;
  let gw: TestGateway;
  let anthropic: Anthropic;
  const received: { path: string; headers: IncomingHttpHeaders; body: unknown }[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString('utf8')) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"input_tokens":1234,"context_management":null}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      auth: { required: true },
      keys: [{ key: KEY, name: 'counter' }],
      providers: {
        claude: { type: 'anthropic', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, apiKey: 'sk-ant-upstream' },
        local: { type: 'openai', baseUrl: mock.url },
      },
      routes: [
        { match: 'claude-sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }] },
        { match: 'gpt-*', targets: [{ provider: 'local' }] },
      ],
    });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await mock.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const params = {
    system: 'You are terse.',
    thinking: { type: 'enabled' as const, budget_tokens: 1024 },
    messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'How many tokens is this sentence, roughly?', cache_control: { type: 'ephemeral' as const } }] }],
  };

  test('to an Anthropic provider: passed through to its count_tokens, answered as it answers', async () => {
    const { data, response } = await anthropic.messages.countTokens({ ...params, model: 'claude-sonnet' }, { headers: { 'anthropic-beta': 'token-counting-beta' } }).withResponse();
    assert.equal(data.input_tokens, 1234);
    assert.equal(response.headers.get('x-sluice-estimated'), null);
    assert.ok(response.headers.get('request-id'));
    const r = received.at(-1);
    assert.equal(r?.path, '/v1/messages/count_tokens');
    assert.deepEqual(r?.body, { ...params, model: 'claude-sonnet-4-20250514' });
    assert.equal(r?.headers['x-api-key'], 'sk-ant-upstream');
    assert.equal(r?.headers['anthropic-beta'], 'token-counting-beta');
  });

  test('server tools are counted by an Anthropic provider, refused where the gateway estimates', async () => {
    const withServerTool = { ...params, tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const }] };
    assert.equal((await anthropic.messages.countTokens({ ...withServerTool, model: 'claude-sonnet' })).input_tokens, 1234);
    assert.deepEqual((received.at(-1)?.body as { tools: unknown }).tools, withServerTool.tools);
    await assert.rejects(anthropic.messages.countTokens({ ...withServerTool, model: 'gpt-4o' }), (err: unknown) => err instanceof Anthropic.BadRequestError);
  });

  test('elsewhere: estimated with the gateway tokenizer and marked x-sluice-estimated: true', async () => {
    const { data, response } = await anthropic.messages.countTokens({ ...params, model: 'gpt-4o' }).withResponse();
    assert.equal(response.headers.get('x-sluice-estimated'), 'true');
    // Two messages (system, user) of about 4 and 9 tokens, with OpenAI's per-message framing.
    assert.ok(data.input_tokens > 10 && data.input_tokens < 40, String(data.input_tokens));
    const longer = await anthropic.messages.countTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: 'word '.repeat(200) }] });
    assert.ok(longer.input_tokens > 150);
  });

  test('a model no route serves is a 404; a bad body a 400; no key a 401', async () => {
    await assert.rejects(anthropic.messages.countTokens({ ...params, model: 'nothing' }), (err: unknown) => err instanceof Anthropic.NotFoundError && err.requestID !== null);
    await assert.rejects(anthropic.messages.countTokens({ model: 'gpt-4o', messages: 'nope' } as unknown as Anthropic.MessageCountTokensParams), (err: unknown) => err instanceof Anthropic.BadRequestError);
    const stranger = new Anthropic({ baseURL: gw.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(stranger.messages.countTokens({ ...params, model: 'claude-sonnet' }), (err: unknown) => err instanceof Anthropic.AuthenticationError);
  });
});
