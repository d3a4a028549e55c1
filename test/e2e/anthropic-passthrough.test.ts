import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import type { RequestSummary } from '../../src/exchange/summary.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const UPSTREAM_MODEL = 'claude-sonnet-4-20250514';
const SIGNATURE = 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+signature==';
const USAGE = { input_tokens: 12, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 30, cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 60 }, service_tier: 'standard' };

/** An Anthropic message as the upstream sends it: thinking with its signature, redacted thinking, a citation, cache usage and fields Sluice does not know. */
const MESSAGE = {
  id: 'msg_upstream_1',
  type: 'message',
  role: 'assistant',
  model: UPSTREAM_MODEL,
  content: [
    { type: 'thinking', thinking: 'The user greets me.', signature: SIGNATURE },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
    { type: 'text', text: 'Hello there.', citations: [{ type: 'char_location', cited_text: 'x', document_index: 0, document_title: null, start_char_index: 0, end_char_index: 1 }] },
  ],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: USAGE,
  container: null,
  sluice_test_unknown_field: { kept: true },
};

/** The same answer as Anthropic's events, framed exactly as the gateway re-frames them (so bytes can be compared). */
const EVENTS: [string, unknown][] = [
  ['message_start', { type: 'message_start', message: { ...MESSAGE, content: [], stop_reason: null, usage: { ...USAGE, output_tokens: 1 } } }],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
  ['ping', { type: 'ping' }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'The user greets me.' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: SIGNATURE } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hello there.' } }],
  ['content_block_stop', { type: 'content_block_stop', index: 1 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 30, sluice_test_unknown_usage: 7 } }],
  ['message_stop', { type: 'message_stop' }],
];
const SSE = EVENTS.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  text: string;
}

/** An upstream that answers like Anthropic and records every request it receives. */
async function recordingUpstream(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      received.push({ path: req.url ?? '', headers: req.headers, text });
      const body = JSON.parse(text) as { stream?: boolean };
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_upstream' });
        res.end(SSE);
        return;
      }
      const json = JSON.stringify(MESSAGE);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, received };
}

describe('native pass-through: Anthropic client → anthropic-type provider (issue 18)', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  let flaky: Server;
  let overloaded: MockServer;
  let mock: MockServer;
  let gw: TestGateway;
  let anthropic: Anthropic;
  const summaries: RequestSummary[] = [];
  const clientHeaders: Headers[] = [];

  before(async () => {
    upstream = await recordingUpstream();
    // Answers 200, then reports overloaded_error before any content (as Anthropic does under load).
    flaky = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`event: message_start\ndata: ${JSON.stringify(EVENTS[0]![1])}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`);
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    overloaded = await startMockServer({ port: 0, options: { status: 529 } });
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      providers: {
        claude: { type: 'anthropic', baseUrl: upstream.url, apiKey: 'sk-ant-upstream-key', headers: { 'anthropic-beta': 'provider-beta-1' } },
        busy: { type: 'anthropic', baseUrl: overloaded.url, apiKey: 'sk-ant-upstream-key' },
        flaky: { type: 'anthropic', baseUrl: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/v1`, apiKey: 'sk-ant-upstream-key' },
        local: { type: 'openai', baseUrl: mock.url },
      },
      routes: [
        { match: 'claude-alias', targets: [{ provider: 'claude', model: UPSTREAM_MODEL }] },
        { match: 'claude-cached', cache: { ttl: '5m' }, targets: [{ provider: 'claude', model: UPSTREAM_MODEL }] },
        { match: UPSTREAM_MODEL, targets: [{ provider: 'claude' }] },
        { match: 'busy-claude', targets: [{ provider: 'busy' }], retry: { attempts: 0 }, fallback: ['gpt-4o'] },
        { match: 'flaky-claude', targets: [{ provider: 'flaky' }], retry: { attempts: 0 }, fallback: ['claude-alias'] },
        { match: 'gpt-*', targets: [{ provider: 'local' }] },
      ],
    });
    gw.gateway.bus.on('request:end', (s) => summaries.push(s));
    // The SDK's own headers are recorded, to compare with what reaches the upstream.
    const recordingFetch: typeof fetch = (input, init) => {
      clientHeaders.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'sluice-client-key', maxRetries: 0, fetch: recordingFetch });
  });

  after(async () => {
    await gw.close();
    await Promise.all([mock.close(), overloaded.close(), new Promise((resolve) => upstream.server.close(resolve)), new Promise((resolve) => flaky.close(resolve))]);
  });

  const params = {
    model: 'claude-alias',
    max_tokens: 2048,
    thinking: { type: 'enabled' as const, budget_tokens: 1024 },
    system: [{ type: 'text' as const, text: 'A long system prompt worth caching.', cache_control: { type: 'ephemeral' as const } }],
    messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] }],
  };

  function lastReceived(): Received {
    const r = upstream.received.at(-1);
    assert.ok(r !== undefined, 'the upstream received nothing');
    return r;
  }

  test('JSON: the upstream gets the client body (model aside) and headers; the client gets the answer as sent', async () => {
    const before = upstream.received.length;
    const message = await anthropic.messages.create(params, { headers: { 'anthropic-beta': 'extended-cache-ttl-2025-04-11', 'x-request-id': 'req-pass-json' } });
    assert.equal(upstream.received.length, before + 1);
    const r = lastReceived();
    assert.equal(r.path, '/v1/messages');
    assert.deepEqual(JSON.parse(r.text), { ...params, model: UPSTREAM_MODEL });
    assert.equal(r.headers['anthropic-beta'], 'provider-beta-1,extended-cache-ttl-2025-04-11');
    const version = clientHeaders.at(-1)?.get('anthropic-version');
    assert.ok(version !== null && version !== undefined);
    assert.equal(r.headers['anthropic-version'], version);
    assert.equal(r.headers['x-api-key'], 'sk-ant-upstream-key');
    assert.equal(r.headers.authorization, undefined);
    // The answer is the upstream's, unknown fields and the upstream's model name included.
    const { _request_id, ...rest } = message as typeof message & { _request_id?: string };
    assert.equal(_request_id, 'req-pass-json');
    assert.deepEqual(rest, MESSAGE);
    const thinking = message.content[0];
    assert.ok(thinking?.type === 'thinking');
    assert.equal(thinking.signature, SIGNATURE);
    assert.equal(message.usage.cache_creation_input_tokens, 100);
    assert.equal(message.usage.cache_read_input_tokens, 2000);
    // Usage is still read for accounting: the whole prompt, its cached part, the completion.
    const summary = summaries.find((s) => s.id === 'req-pass-json');
    assert.deepEqual(summary?.usage && { ...summary.usage }, { promptTokens: 2112, cachedPromptTokens: 2000, cacheWriteTokens: 40, cacheWrite1hTokens: 60, completionTokens: 30, totalTokens: 2142 });
  });

  test('JSON: with the model unchanged, the upstream gets the client\'s bytes exactly; no anthropic-version: the provider\'s', async () => {
    const text = `{ "model" : "${UPSTREAM_MODEL}",\n  "max_tokens": 64, "messages": [{"role": "user", "content": "Hi \\u00e9"}], "top_k": 5, "temperature": 0.50 }`;
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    assert.equal(res.status, 200);
    assert.equal(lastReceived().text, text);
    assert.equal(lastReceived().headers['anthropic-version'], '2023-06-01');
    assert.equal(lastReceived().headers['anthropic-beta'], 'provider-beta-1');
    assert.equal(await res.text(), JSON.stringify(MESSAGE));
  });

  test('stream: the events reach the client as the upstream sent them, signature and cache usage included', async () => {
    const stream = anthropic.messages.stream(params, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14', 'x-request-id': 'req-pass-stream' } });
    const types: string[] = [];
    let signature = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'signature_delta') signature = event.delta.signature;
    }
    const final = await stream.finalMessage();
    const r = lastReceived();
    assert.deepEqual(JSON.parse(r.text), { ...params, model: UPSTREAM_MODEL, stream: true });
    assert.equal(r.headers['anthropic-beta'], 'provider-beta-1,interleaved-thinking-2025-05-14');
    assert.equal(signature, SIGNATURE);
    assert.deepEqual(types, EVENTS.map(([e]) => e).filter((e) => e !== 'ping'));
    const thinking = final.content[0];
    assert.ok(thinking?.type === 'thinking');
    assert.equal(thinking.signature, SIGNATURE);
    assert.equal(final.usage.cache_read_input_tokens, 2000);
    assert.equal(final.usage.cache_creation_input_tokens, 100);
    assert.equal(final.usage.output_tokens, 30);
    const summary = summaries.find((s) => s.id === 'req-pass-stream');
    assert.deepEqual(summary?.usage && { ...summary.usage }, { promptTokens: 2112, cachedPromptTokens: 2000, cacheWriteTokens: 40, cacheWrite1hTokens: 60, completionTokens: 30, totalTokens: 2142 });
  });

  test('stream: the bytes are the upstream\'s (ping included), with the gateway\'s request-id', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-request-id': 'req-pass-bytes' }, body: JSON.stringify({ ...params, stream: true }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('request-id'), 'req-pass-bytes');
    assert.equal(await res.text(), SSE);
  });

  test('a multi-turn request carrying the previous thinking block and its signature arrives unchanged', async () => {
    const first = await anthropic.messages.create(params);
    const turn = {
      ...params,
      messages: [...params.messages, { role: 'assistant' as const, content: first.content.map((b) => ({ ...b })) as Anthropic.ContentBlockParam[] }, { role: 'user' as const, content: 'And now?' }],
    };
    await anthropic.messages.create(turn);
    const sent = JSON.parse(lastReceived().text) as { messages: { content: unknown }[] };
    assert.deepEqual(sent, { ...turn, model: UPSTREAM_MODEL });
    const previous = sent.messages[1]?.content as { type: string; signature?: string }[];
    assert.equal(previous[0]?.signature, SIGNATURE);
    assert.equal(previous[1]?.type, 'redacted_thinking');
  });

  test('server tools, server-tool blocks, text documents and parameters Sluice does not know reach an Anthropic upstream; other targets refuse them', async () => {
    const turn = {
      model: 'claude-alias',
      max_tokens: 1024,
      context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
      messages: [
        { role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is blue.' }, citations: { enabled: true } }, { type: 'text', text: 'What colour is the sky?' }] },
        { role: 'assistant', content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'sky' } }, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }, { type: 'text', text: 'Blue.' }] },
        { role: 'user', content: 'Thanks' },
      ],
    };
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(turn) });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(lastReceived().text), { ...turn, model: UPSTREAM_MODEL });
    // A target that needs the translation answers what the canonical form cannot carry, as before.
    await assert.rejects(anthropic.messages.create({ ...turn, model: 'gpt-4o' } as unknown as Anthropic.MessageCreateParamsNonStreaming), (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError);
      assert.match(err.message, /Not supported on \/v1\/messages/);
      return true;
    });
  });

  test('a passed-through stream that reports an error before any content still falls back; the client sees only the answer', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, model: 'flaky-claude', stream: true }) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), SSE);
    assert.deepEqual(JSON.parse(lastReceived().text), { ...params, model: UPSTREAM_MODEL, stream: true });
  });

  test('per attempt: a fallback to a non-Anthropic target is translated as before', async () => {
    const message = await anthropic.messages.create({ ...params, model: 'busy-claude' });
    assert.equal(message.type, 'message');
    // The translated answer names the model the client asked for; the mock's text, not the recording upstream's.
    assert.equal(message.model, 'busy-claude');
    assert.ok(message.content.some((b) => b.type === 'text' && b.text !== 'Hello there.'));
  });

  test('a caching route never stores a passed-through answer (it would be in the wrong shape for OpenAI clients)', async () => {
    const before = upstream.received.length;
    const body = { ...params, model: 'claude-cached', temperature: 0 };
    delete (body as { thinking?: unknown }).thinking;
    const res1 = await anthropic.messages.create(body).withResponse();
    const res2 = await anthropic.messages.create(body).withResponse();
    assert.equal(upstream.received.length, before + 2);
    assert.equal(res2.response.headers.get('x-sluice-cache'), 'miss');
    assert.deepEqual(res1.data.content, MESSAGE.content);
    // An OpenAI client asking the same gets a chat completion, not an Anthropic message from the cache.
    const chat = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-cached', temperature: 0, max_tokens: 2048, messages: [{ role: 'system', content: 'A long system prompt worth caching.' }, { role: 'user', content: 'Hello' }] }) });
    const json = (await chat.json()) as { object: string };
    assert.equal(json.object, 'chat.completion');
  });
});

/**
 * The OpenAI half of pass-through (issue 18): the OpenAI transport already sends the client's
 * body text and returns the upstream's answer and chunks as written; this pins that unknown
 * fields reach the openai SDK.
 */
describe('native pass-through: OpenAI client → OpenAI-compatible provider (issue 18)', () => {
  let server: Server;
  let gw: TestGateway;
  let openai: OpenAI;
  const received: string[] = [];
  const completion = {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    created: 1,
    model: 'up-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_content: 'thought', annotations: [] }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    system_fingerprint: 'fp_1',
    sluice_test_unknown: { kept: true },
  };
  const chunks = [
    { id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi', reasoning_content: 'thought' }, finish_reason: null }], sluice_test_unknown: 1 },
    { id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    { id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
  ];

  before(async () => {
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        received.push(text);
        if ((JSON.parse(text) as { stream?: boolean }).stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(completion));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gw = await startGateway({
      providers: { up: { type: 'openai', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` } },
      routes: [{ match: 'up-model', targets: [{ provider: 'up' }] }],
    });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test('JSON: unknown fields of the answer reach the client; the body goes up as sent', async () => {
    const params = { model: 'up-model', messages: [{ role: 'user' as const, content: 'Hi' }], sluice_request_extra: 'x' };
    const res = await openai.chat.completions.create(params as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.deepEqual(JSON.parse(received.at(-1)!), params);
    const raw = res as unknown as typeof completion;
    assert.deepEqual(raw.sluice_test_unknown, { kept: true });
    assert.equal(raw.choices[0]?.message.reasoning_content, 'thought');
  });

  test('stream: unknown fields of each chunk reach the client', async () => {
    const seen: unknown[] = [];
    for await (const chunk of await openai.chat.completions.create({ model: 'up-model', messages: [{ role: 'user', content: 'Hi' }], stream: true })) seen.push(chunk);
    const first = seen[0] as (typeof chunks)[0];
    assert.equal(first.sluice_test_unknown, 1);
    assert.equal(first.choices[0]?.delta.reasoning_content, 'thought');
    // The usage chunk the client did not ask for is read for accounting and not sent.
    assert.equal(seen.length, 2);
  });
});
