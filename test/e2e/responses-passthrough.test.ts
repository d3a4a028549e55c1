import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RequestSummary } from '../../src/exchange/summary.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Responses API pass-through (issue 18): the openai SDK's responses.create / responses.stream
 * through Sluice to an OpenAI-Responses-shaped upstream that records what it receives; a
 * conversation moving between a translated and a passed-through provider with
 * previous_response_id (Sluice the only store); tenant isolation; a native target failing
 * before any output falling back to a translated one.
 */

type Json = Record<string, unknown>;

const UPSTREAM_MODEL = 'gpt-5-2025-08-07';
const KEY_A = 'sk-tenant-a-0123456789abcdef';
const KEY_B = 'sk-tenant-b-0123456789abcdef';
const USAGE = { input_tokens: 21, input_tokens_details: { cached_tokens: 5 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 30 };

/** The event shapes, derived from OpenAI's spec into the fixture (the upstream's own events are checked against it). */
interface Fixture {
  events: Record<string, { required: Record<string, string> }>;
  response: Record<string, string>;
  items: Record<string, Record<string, string>>;
}
const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/responses-stream-schema.json', import.meta.url), 'utf8')) as Fixture;

function hasFields(value: Json, fields: Record<string, string>, where: string): void {
  for (const field of Object.keys(fields)) assert.ok(Object.hasOwn(value, field), `${where}: required field ${field} is missing`);
}

interface Received {
  path: string;
  authorization: string | undefined;
  body: Json;
  text: string;
}

/** What the upstream answers: a response object as OpenAI writes one, with fields Sluice does not know. */
function responseObject(n: number, body: Json, status: string, output: Json[]): Json {
  return {
    id: `resp_upstream_${n}`,
    object: 'response',
    created_at: 1_760_000_000 + n,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: null,
    model: UPSTREAM_MODEL,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    store: body.store ?? true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: status === 'in_progress' ? null : USAGE,
    user: null,
    metadata: {},
    sluice_test_unknown: { kept: true },
  };
}

function outputOf(n: number, body: Json): Json[] {
  const out: Json[] = [];
  // Reasoning comes back with its encrypted content only when asked for (store: false upstream).
  if (Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content')) {
    out.push({ id: `rs_upstream_${n}`, type: 'reasoning', summary: [], encrypted_content: `encrypted-${n}` });
  }
  // With a function tool and no tool output yet, the model calls the tool.
  const tool = Array.isArray(body.tools) ? (body.tools as Json[]).find((t) => t.type === 'function') : undefined;
  const input = Array.isArray(body.input) ? (body.input as Json[]) : [];
  if (tool !== undefined && !input.some((i) => i.type === 'function_call_output')) {
    out.push({ id: `fc_upstream_${n}`, type: 'function_call', status: 'completed', call_id: `call_${n}`, name: tool.name, arguments: '{"city":"Paris"}' });
    return out;
  }
  out.push({ id: `msg_upstream_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: `Native answer ${n}.`, annotations: [], logprobs: [] }] });
  return out;
}

/** The SSE events of one answer, in OpenAI's order, with an event type Sluice does not know. */
function eventsOf(n: number, body: Json): Json[] {
  const output = outputOf(n, body);
  const message = output.at(-1)!;
  const at = output.length - 1;
  const text = `Native answer ${n}.`;
  const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
  const events: Json[] = [
    { type: 'response.created', response: responseObject(n, body, 'in_progress', []) },
    { type: 'response.in_progress', response: responseObject(n, body, 'in_progress', []) },
    ...output.slice(0, -1).flatMap((item, i) => [
      { type: 'response.output_item.added', output_index: i, item },
      { type: 'response.output_item.done', output_index: i, item },
    ]),
    { type: 'response.output_item.added', output_index: at, item: { ...message, status: 'in_progress', content: [] } },
    { type: 'response.content_part.added', item_id: message.id, output_index: at, content_index: 0, part },
    { type: 'response.output_text.delta', item_id: message.id, output_index: at, content_index: 0, delta: 'Native ', logprobs: [], obfuscation: 'x1' },
    { type: 'response.output_text.delta', item_id: message.id, output_index: at, content_index: 0, delta: `answer ${n}.`, logprobs: [], obfuscation: 'x2' },
    { type: 'response.output_text.done', item_id: message.id, output_index: at, content_index: 0, text, logprobs: [] },
    { type: 'response.content_part.done', item_id: message.id, output_index: at, content_index: 0, part: { ...part, text } },
    { type: 'response.output_item.done', output_index: at, item: message },
    { type: 'response.completed', response: responseObject(n, body, 'completed', output) },
  ];
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

const sseOf = (events: Json[]): string => events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('');

/**
 * An upstream that speaks both the Responses API (/v1/responses) and chat completions
 * (/v1/chat/completions), recording every request. Chat answers say how many messages they got.
 */
async function recordingUpstream(): Promise<{ server: Server; url: string; received: Received[]; sse: Map<string, string> }> {
  const received: Received[] = [];
  const sse = new Map<string, string>();
  let n = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      const body = JSON.parse(text) as Json;
      received.push({ path: req.url ?? '', authorization: req.headers.authorization, body, text });
      n++;
      if (req.url === '/v1/chat/completions') {
        const messages = body.messages as unknown[];
        const content = `Chat answer ${n} to ${messages.length} messages.`;
        const usage = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };
        if (body.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: Json, finish: string | null, u: Json | null = null): string => `data: ${JSON.stringify({ id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: 1, model: 'chat-upstream', choices: u === null ? [{ index: 0, delta, finish_reason: finish }] : [], usage: u })}\n\n`;
          res.end(chunk({ role: 'assistant', content }, null) + chunk({}, 'stop') + chunk({}, null, usage) + 'data: [DONE]\n\n');
          return;
        }
        const json = JSON.stringify({ id: `chatcmpl-${n}`, object: 'chat.completion', created: 1, model: 'chat-upstream', choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }], usage });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(json);
        return;
      }
      if (body.stream === true) {
        const text = sseOf(eventsOf(n, body));
        sse.set(`resp_upstream_${n}`, text);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(text);
        return;
      }
      // Pretty-printed, as OpenAI writes JSON answers: the client must get these bytes.
      const json = JSON.stringify(responseObject(n, body, 'completed', outputOf(n, body)), null, 2);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, received, sse };
}

/** Answers every Responses call as OpenAI does under load: 500, or a stream whose first output never comes (an error event after response.created). */
async function failingUpstream(): Promise<{ server: Server; url: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      calls++;
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Json;
      if (body.stream === true && body.input === 'Fail late.') {
        // Output first, then the response fails: past the commit point, so the client gets the upstream's own events.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const failed = { ...responseObject(98, body, 'failed', []), error: { code: 'server_error', message: 'Failed mid-answer.' } };
        const item = { id: 'msg_late', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
        res.end(sseOf([
          { type: 'response.created', sequence_number: 0, response: responseObject(98, body, 'in_progress', []) },
          { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item },
          { type: 'response.failed', sequence_number: 2, response: failed },
        ]));
        return;
      }
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const created = { type: 'response.created', sequence_number: 0, response: responseObject(99, body, 'in_progress', []) };
        res.end(sseOf([created, { type: 'error', sequence_number: 1, code: 'server_error', message: 'The server had an error.', param: null }]));
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The server had an error.', type: 'server_error', code: null, param: null } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls: () => calls };
}

describe('Responses API pass-through to a provider that speaks it (issue 18)', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  let failing: Awaited<ReturnType<typeof failingUpstream>>;
  let gw: TestGateway;
  let a: OpenAI;
  let b: OpenAI;
  const summaries: RequestSummary[] = [];

  before(async () => {
    upstream = await recordingUpstream();
    failing = await failingUpstream();
    gw = await startGateway({
      database: { embedded: 'memory' },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      auth: { required: true },
      keys: [
        { name: 'a', key: KEY_A },
        { name: 'b', key: KEY_B },
      ],
      providers: {
        // The same server, once as a Responses-speaking provider and once as a chat-only one.
        native: { type: 'openai', baseUrl: upstream.url, apiKey: 'sk-upstream-native', responses: 'native' },
        chat: { type: 'openai', baseUrl: upstream.url, apiKey: 'sk-upstream-chat' },
        broken: { type: 'openai', baseUrl: failing.url, apiKey: 'sk-upstream-broken', responses: 'native' },
      },
      routes: [
        { match: 'native-model', targets: [{ provider: 'native', model: UPSTREAM_MODEL }] },
        { match: UPSTREAM_MODEL, targets: [{ provider: 'native' }] },
        { match: 'chat-model', targets: [{ provider: 'chat', model: 'chat-upstream' }] },
        { match: 'broken-model', targets: [{ provider: 'broken', model: UPSTREAM_MODEL }], retry: { attempts: 0 }, fallback: ['chat-model'] },
      ],
    });
    gw.gateway.bus.on('request:end', (s) => summaries.push(s));
    a = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
    b = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await Promise.all([new Promise((resolve) => upstream.server.close(resolve)), new Promise((resolve) => failing.server.close(resolve))]);
  });

  function lastReceived(): Received {
    const r = upstream.received.at(-1);
    assert.ok(r !== undefined, 'the upstream received nothing');
    return r;
  }

  const summaryOf = (id: string): RequestSummary => {
    const s = summaries.find((x) => x.id === id);
    assert.ok(s !== undefined, `no summary for ${id}`);
    return s;
  };

  test("the upstream's events conform to the spec fixture (so the tests below exercise OpenAI's shapes)", () => {
    const events = eventsOf(1, { include: ['reasoning.encrypted_content'] });
    for (const [i, e] of events.entries()) {
      const type = String(e.type);
      hasFields(e, fixture.events[type]!.required, `event ${i} (${type})`);
      if (typeof e.response === 'object' && e.response !== null) hasFields(e.response as Json, fixture.response, `${type}.response`);
      if (typeof e.item === 'object' && e.item !== null) hasFields(e.item as Json, fixture.items[String((e.item as Json).type)]!, `${type}.item`);
    }
  });

  test('responses.create: the upstream gets the client body (model and store aside), the client gets the answer as written, usage is recorded', async () => {
    const params = { model: 'native-model', instructions: 'Be brief.', input: [{ role: 'user' as const, content: 'Hello' }], metadata: { topic: 'greeting' }, temperature: 0.3 };
    const res = await a.responses.create(params, { headers: { 'x-request-id': 'req-native-json' } }).withResponse();
    const r = lastReceived();
    assert.equal(r.path, '/v1/responses');
    assert.equal(r.authorization, 'Bearer sk-upstream-native');
    assert.deepEqual(r.body, { ...params, model: UPSTREAM_MODEL, store: false });
    assert.equal(res.data.id, `resp_upstream_${upstream.received.length}`);
    assert.equal(res.data.output_text, `Native answer ${upstream.received.length}.`);
    assert.deepEqual((res.data as unknown as Json).sluice_test_unknown, { kept: true });
    assert.deepEqual({ ...summaryOf('req-native-json').usage }, { promptTokens: 21, cachedPromptTokens: 5, completionTokens: 9, totalTokens: 30, reasoningTokens: 3 });
    assert.equal(summaryOf('req-native-json').target?.provider, 'native');
  });

  test('the JSON bytes reach the client unchanged', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: UPSTREAM_MODEL, input: 'Hi', store: false }) });
    assert.equal(res.status, 200);
    const r = lastReceived();
    const n = upstream.received.length;
    assert.equal(await res.text(), JSON.stringify(responseObject(n, r.body, 'completed', outputOf(n, r.body)), null, 2));
  });

  test('with nothing to change (store: false, the model unchanged), the upstream gets the client bytes exactly', async () => {
    const body = `{ "model": "${UPSTREAM_MODEL}", "input": "Hi \\u00e9", "store": false, "future_field": [1, 2] }`;
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200);
    assert.equal(lastReceived().text, body);
  });

  test('responses.stream: the events reach the client as the upstream wrote them; usage is recorded', async () => {
    const params = { model: 'native-model', input: 'Stream please', reasoning: { effort: 'low' as const } };
    const stream = a.responses.stream(params, { headers: { 'x-request-id': 'req-native-stream' } });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    const r = lastReceived();
    // Asking for reasoning on a kept turn: its encrypted content is asked for too, to give back later.
    assert.deepEqual(r.body, { ...params, model: UPSTREAM_MODEL, stream: true, store: false, include: ['reasoning.encrypted_content'] });
    const sent = eventsOf(upstream.received.length, r.body);
    assert.deepEqual(types, sent.map((e) => e.type));
    assert.equal(final.output_text, `Native answer ${upstream.received.length}.`);
    assert.deepEqual((final as unknown as Json).sluice_test_unknown, { kept: true });
    assert.deepEqual({ ...summaryOf('req-native-stream').usage }, { promptTokens: 21, cachedPromptTokens: 5, completionTokens: 9, totalTokens: 30, reasoningTokens: 3 });
  });

  test('stream bytes are the upstream’s', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'native-model', input: 'Hi', stream: true }) });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(text, upstream.sse.get(`resp_upstream_${upstream.received.length}`));
  });

  test('a conversation moves translated → native → translated with previous_response_id; Sluice keeps every turn', async () => {
    const first = await a.responses.create({ model: 'chat-model', instructions: 'Be brief.', input: 'My name is Ada.' });
    assert.equal(lastReceived().path, '/v1/chat/completions');
    assert.match(first.id, /^resp_/);
    const firstText = first.output_text;

    const second = await a.responses.create({ model: 'native-model', previous_response_id: first.id, input: 'What is my name?' });
    const r2 = lastReceived();
    assert.equal(r2.path, '/v1/responses');
    // The upstream keeps nothing and never saw first.id: it gets the whole conversation instead.
    assert.equal(r2.body.previous_response_id, undefined);
    assert.equal(r2.body.store, false);
    assert.deepEqual(r2.body.input, [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'My name is Ada.' }] },
      { type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: firstText, annotations: [], logprobs: [] }] },
      { type: 'message', role: 'user', content: 'What is my name?' },
    ]);
    assert.equal(second.id, `resp_upstream_${upstream.received.length}`);

    const third = await a.responses.stream({ model: 'chat-model', previous_response_id: second.id, input: 'Thanks.' }).finalResponse();
    const r3 = lastReceived();
    assert.equal(r3.path, '/v1/chat/completions');
    assert.deepEqual(
      (r3.body.messages as Json[]).map((m) => [m.role, m.content]),
      [
        ['user', 'My name is Ada.'],
        ['assistant', firstText],
        ['user', 'What is my name?'],
        ['assistant', second.output_text],
        ['user', 'Thanks.'],
      ],
    );
    assert.equal(third.previous_response_id, second.id);

    // The native turn is kept by Sluice: GET, input_items and DELETE work on the upstream's id.
    const got = await a.responses.retrieve(second.id);
    assert.equal(got.id, second.id);
    assert.equal(got.output_text, second.output_text);
    assert.equal(got.previous_response_id, first.id);
    assert.equal((got as unknown as Json).store, true);
    assert.deepEqual((got as unknown as Json).sluice_test_unknown, { kept: true });
    const items = [];
    for await (const item of a.responses.inputItems.list(second.id)) items.push(item);
    assert.deepEqual(
      items.map((i) => (i.type === 'message' ? i.content.map((c) => ('text' in c ? c.text : '')) : i.type)),
      [['What is my name?']],
    );
    // And back to the native provider, from the translated turn: four earlier items and the new one.
    await a.responses.create({ model: 'native-model', previous_response_id: third.id, input: 'Bye.' });
    assert.deepEqual(
      (lastReceived().body.input as Json[]).map((i) => [i.role, typeof i.content === 'string' ? i.content : (i.content as Json[])[0]!.text]),
      [
        ['user', 'My name is Ada.'],
        ['assistant', firstText],
        ['user', 'What is my name?'],
        ['assistant', second.output_text],
        ['user', 'Thanks.'],
        ['assistant', third.output_text],
        ['user', 'Bye.'],
      ],
    );
    const deleted = await a.responses.delete(second.id).then(() => true);
    assert.equal(deleted, true);
    await assert.rejects(a.responses.retrieve(second.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
  });

  test('a function-call round trip through the native provider, continued with previous_response_id', async () => {
    const tools = [{ type: 'function' as const, name: 'weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true }];
    const first = await a.responses.create({ model: 'native-model', input: 'Weather in Paris?', tools });
    const call = first.output[0];
    assert.ok(call?.type === 'function_call');
    assert.equal(call.name, 'weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    const second = await a.responses.create({ model: 'native-model', previous_response_id: first.id, tools, input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"celsius":21}' }] });
    assert.deepEqual(lastReceived().body.input, [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'function_call', status: 'completed', call_id: call.call_id, name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: call.call_id, output: '{"celsius":21}' },
    ]);
    assert.match(second.output_text, /^Native answer/);
    // The same conversation continues on a translated provider: the call and its output as chat tool messages.
    await a.responses.create({ model: 'chat-model', previous_response_id: first.id, tools, input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"celsius":21}' }] });
    assert.deepEqual(
      (lastReceived().body.messages as Json[]).map((m) => [m.role, m.tool_call_id ?? (m.tool_calls as Json[] | undefined)?.length ?? m.content]),
      [
        ['user', 'Weather in Paris?'],
        ['assistant', 1],
        ['tool', call.call_id],
      ],
    );
  });

  test('reasoning survives native turns without upstream state (encrypted content given back); a translated turn leaves it out', async () => {
    const first = await a.responses.create({ model: 'native-model', input: 'Think about this.', reasoning: { effort: 'medium' } });
    const n = upstream.received.length;
    assert.deepEqual(lastReceived().body.include, ['reasoning.encrypted_content']);
    await a.responses.create({ model: 'native-model', previous_response_id: first.id, input: 'And then?', reasoning: { effort: 'medium' } });
    const input = lastReceived().body.input as Json[];
    assert.deepEqual(input[1], { id: `rs_upstream_${n}`, type: 'reasoning', summary: [], encrypted_content: `encrypted-${n}` });
    await a.responses.create({ model: 'chat-model', previous_response_id: first.id, input: 'And then?' });
    assert.deepEqual(
      (lastReceived().body.messages as Json[]).map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
  });

  test('tenant isolation: another key can neither continue nor read a passed-through turn', async () => {
    const mine = await a.responses.create({ model: 'native-model', input: 'Secret.' });
    const before = upstream.received.length;
    await assert.rejects(b.responses.create({ model: 'native-model', previous_response_id: mine.id, input: 'Tell me.' }), (err: unknown) => err instanceof OpenAI.NotFoundError);
    await assert.rejects(b.responses.retrieve(mine.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
    await assert.rejects(b.responses.delete(mine.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
    assert.equal(upstream.received.length, before, 'nothing went upstream');
    assert.equal((await a.responses.retrieve(mine.id)).id, mine.id);
  });

  test('an upstream conversation is refused for every target: it would be state shared by every tenant behind the key', async () => {
    const before = upstream.received.length;
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'native-model', input: 'Hi', conversation: 'conv_someone_else' }) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, 'conversation');
    assert.equal(upstream.received.length, before);
  });

  test('what only a pass-through can carry (a built-in tool) reaches a native target, and is refused by a translated one', async () => {
    const params = { model: 'native-model', input: 'Search.', tools: [{ type: 'web_search_preview' as const }] };
    await a.responses.create(params);
    assert.deepEqual(lastReceived().body.tools, [{ type: 'web_search_preview' }]);
    const before = upstream.received.length;
    await assert.rejects(a.responses.create({ ...params, model: 'chat-model' }), (err: unknown) => err instanceof OpenAI.BadRequestError && /web_search_preview/.test(err.message));
    assert.equal(upstream.received.length, before);
  });

  test('a native stream failing after output: the client gets the upstream’s response.failed as written, nothing more; the request is recorded as interrupted', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json', 'x-request-id': 'req-late-failure' }, body: JSON.stringify({ model: 'broken-model', input: 'Fail late.', stream: true }) });
    assert.equal(res.status, 200);
    const events = (await res.text()).trim().split('\n\n').map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Json);
    assert.deepEqual(events.map((e) => e.type), ['response.created', 'response.output_item.added', 'response.failed']);
    assert.deepEqual((events[2]!.response as Json).error, { code: 'server_error', message: 'Failed mid-answer.' });
    const summary = summaryOf('req-late-failure');
    assert.equal(summary.errorCode, 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.equal(summary.fallbackModel, null, 'no fallback once output reached the client');
    // A failed response is not kept.
    await assert.rejects(a.responses.retrieve('resp_upstream_98'), (err: unknown) => err instanceof OpenAI.NotFoundError);
  });

  test('a native target failing before any output falls back to a translated one (JSON and stream)', async () => {
    const json = await a.responses.create({ model: 'broken-model', input: 'Hello' }, { headers: { 'x-request-id': 'req-fallback-json' } });
    assert.equal(lastReceived().path, '/v1/chat/completions');
    assert.match(json.output_text, /^Chat answer/);
    assert.equal(summaryOf('req-fallback-json').fallbackModel, 'chat-model');
    const calls = failing.calls();
    const stream = a.responses.stream({ model: 'broken-model', input: 'Hello' }, { headers: { 'x-request-id': 'req-fallback-stream' } });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    assert.equal(failing.calls(), calls + 1, 'the native target was tried');
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(!types.includes('error'), 'the failed attempt sent nothing to the client');
    assert.match((await stream.finalResponse()).output_text, /^Chat answer/);
    assert.equal(summaryOf('req-fallback-stream').fallbackModel, 'chat-model');
    // The fallback turn is kept under Sluice's id and continues anywhere.
    await a.responses.create({ model: 'native-model', previous_response_id: json.id, input: 'Again?' });
    assert.equal((lastReceived().body.input as Json[]).length, 3);
  });
});
