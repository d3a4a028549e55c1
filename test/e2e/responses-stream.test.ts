import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backend } from '../helpers/backends.js';
import { parseSseText, startGateway, type TestGateway } from '../helpers/gateway.js';
import { send } from '../helpers/requests.js';

/**
 * Streams on /v1/responses (issue 18): through the openai SDK's `responses.stream` and
 * `responses.create({stream: true})`, and event by event against the required fields and
 * types derived from OpenAI's spec into test/fixtures/responses-stream-schema.json.
 */

type Types = Record<string, string>;
interface Fixture {
  events: Record<string, { required: Types }>;
  response: Types;
  items: Record<string, Types>;
  parts: Record<string, Types>;
  usage: Types;
}
const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/responses-stream-schema.json', import.meta.url), 'utf8')) as Fixture;

type Json = Record<string, unknown>;

function typeOk(value: unknown, type: string): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

function conforms(value: Json, types: Types, where: string): void {
  for (const [field, type] of Object.entries(types)) {
    assert.ok(Object.hasOwn(value, field), `${where}: required field ${field} is missing`);
    assert.ok(typeOk(value[field], type), `${where}: ${field} must be ${type}, is ${JSON.stringify(value[field])}`);
  }
}

/** Checks every event against the fixture, and the order rules; returns the events' data. */
function validateStream(sse: string): Json[] {
  const events = parseSseText(sse).map((e, i) => {
    const data = JSON.parse(e.data) as Json;
    const type = String(data.type);
    assert.equal(e.event, type, `event ${i}: the SSE event name is the data's type`);
    const schema = fixture.events[type];
    assert.ok(schema !== undefined, `event ${i}: ${type} is not an event of the spec`);
    conforms(data, schema.required, `event ${i} (${type})`);
    if (isRecord(data.response)) {
      conforms(data.response, fixture.response, `event ${i} (${type}).response`);
      for (const [j, item] of (data.response.output as Json[]).entries()) conforms(item, fixture.items[String(item.type)]!, `${type}.response.output[${j}]`);
    }
    if (isRecord(data.item)) conforms(data.item, fixture.items[String(data.item.type)]!, `event ${i} (${type}).item`);
    if (isRecord(data.part)) conforms(data.part, fixture.parts[String(data.part.type)]!, `event ${i} (${type}).part`);
    return data;
  });
  assert.ok(events.length >= 3);
  events.forEach((e, i) => assert.equal(e.sequence_number, i, 'sequence numbers count up from 0 without gaps'));
  assert.equal(events[0]!.type, 'response.created');
  assert.equal(events[1]!.type, 'response.in_progress');
  const last = events.at(-1)!;
  assert.match(String(last.type), /^response\.(completed|incomplete|failed)$/);
  assert.equal(events.filter((e) => /^response\.(completed|incomplete|failed)$/.test(String(e.type))).length, 1, 'one terminal event, last');
  // Per item: added, then its parts and deltas, then done; items one after another.
  const phase = new Map<string, number>();
  let openItem: string | null = null;
  const order: Record<string, number> = {
    'response.output_item.added': 0,
    'response.content_part.added': 1,
    'response.output_text.delta': 2,
    'response.refusal.delta': 2,
    'response.function_call_arguments.delta': 2,
    'response.reasoning_text.delta': 2,
    'response.reasoning_text.done': 3,
    'response.output_text.done': 3,
    'response.refusal.done': 3,
    'response.function_call_arguments.done': 3,
    'response.content_part.done': 4,
    'response.output_item.done': 5,
  };
  for (const e of events) {
    const rank = order[String(e.type)];
    if (rank === undefined) continue;
    const id = String(isRecord(e.item) ? e.item.id : e.item_id);
    if (rank === 0) {
      assert.equal(openItem, null, 'an item is added only after the one before it is done');
      assert.equal(phase.has(id), false, 'an item is added once');
      openItem = id;
    } else {
      assert.equal(id, openItem, `${String(e.type)} belongs to the open item`);
      assert.ok(rank >= phase.get(id)!, `${String(e.type)} after a later phase of its item`);
    }
    phase.set(id, rank);
    if (rank === 5) openItem = null;
  }
  assert.equal(openItem, null, 'every item added is done before the end');
  return events;
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

describe('/v1/responses streams', () => {
  let gw: TestGateway;
  let client: OpenAI;
  let thinker: Backend;
  const weather = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false };
  const prompt = 'Rank these brands by trust: Acme, Globex, Initech.';

  before(async () => {
    // An OpenAI-compatible upstream that reasons first (DeepSeek's and vLLM's reasoning_content).
    thinker = await new Backend('thinker', (_req: IncomingMessage, res: ServerResponse) => {
      const chunk = (delta: object, finish: string | null = null): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'r1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', reasoning_content: 'Acme is ' }));
      res.write(chunk({ reasoning_content: 'oldest.' }));
      res.write(chunk({ content: 'Acme.' }, 'stop'));
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'r1', choices: [], usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10, completion_tokens_details: { reasoning_tokens: 4 } } })}\n\n`);
      res.end('data: [DONE]\n\n');
    }).start();
    gw = await startGateway({
      providers: { mock: { type: 'mock' }, drops: { type: 'mock', dropAfterChunks: 3 }, thinker: { type: 'openai', baseUrl: thinker.url, apiKey: 'sk-up' } },
      routes: [
        { match: 'thinker', targets: [{ provider: 'thinker', model: 'r1' }] },
        { match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] },
        { match: 'drops', targets: [{ provider: 'drops', model: 'mock-1' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await thinker.stop();
  });

  test('responses.stream: text deltas reassemble to the JSON answer; finalResponse has usage', async () => {
    const json = await client.responses.create({ model: 'mock-1', input: prompt });
    const stream = client.responses.stream({ model: 'mock-1', input: prompt });
    let deltas = '';
    const types: string[] = [];
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    assert.equal(deltas, json.output_text);
    assert.equal(final.output_text, json.output_text);
    assert.equal(final.status, 'completed');
    assert.ok(final.usage !== undefined && final.usage !== null && final.usage.output_tokens > 0);
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.equal(types.at(-1), 'response.completed');
  });

  test('responses.create({stream: true}) with a tool: function call argument events and the item', async () => {
    const stream = await client.responses.create({ model: 'mock-1', input: 'Use get_weather for Paris.', tools: [weather], stream: true });
    let args = '';
    let done: { name: string; arguments: string } | null = null;
    let completed: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      if (event.type === 'response.function_call_arguments.done') done = { name: event.name, arguments: event.arguments };
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.ok(done !== null);
    assert.equal(done.name, 'get_weather');
    assert.equal(done.arguments, args);
    assert.deepEqual(JSON.parse(args), { city: 'mock-city' });
    const call = completed?.output.find((o) => o.type === 'function_call');
    assert.ok(call !== undefined && call.type === 'function_call');
    assert.equal(call.arguments, args);
  });

  test('every event conforms to the spec fixture, in order: text', async () => {
    const reply = await send(gw, '/v1/responses', { body: { model: 'mock-1', input: prompt, stream: true } });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /text\/event-stream/);
    const events = validateStream(reply.text);
    const last = events.at(-1)!;
    assert.equal(last.type, 'response.completed');
    conforms((last.response as Json).usage as Json, fixture.usage, 'usage');
  });

  test('every event conforms to the spec fixture, in order: a function call', async () => {
    const reply = await send(gw, '/v1/responses', { body: { model: 'mock-1', input: 'Call get_weather.', tools: [weather], tool_choice: 'required', stream: true } });
    const events = validateStream(reply.text);
    assert.ok(events.some((e) => e.type === 'response.function_call_arguments.delta'));
  });

  test('a length stop ends with response.incomplete (max_output_tokens)', async () => {
    const reply = await send(gw, '/v1/responses', { body: { model: 'mock-1', input: prompt, max_output_tokens: 3, stream: true } });
    const last = validateStream(reply.text).at(-1)!;
    assert.equal(last.type, 'response.incomplete');
    assert.deepEqual((last.response as Json).incomplete_details, { reason: 'max_output_tokens' });
  });

  test('a stream that breaks off ends with response.failed carrying the catalog code', async () => {
    const reply = await send(gw, '/v1/responses', { body: { model: 'drops', input: prompt, stream: true } });
    assert.equal(reply.status, 200);
    const last = validateStream(reply.text).at(-1)!;
    assert.equal(last.type, 'response.failed');
    const response = last.response as Json;
    assert.equal(response.status, 'failed');
    assert.equal((response.error as Json).code, 'SLUICE_ERR_STREAM_INTERRUPTED');
  });

  test('an upstream that reasons: a reasoning item with reasoning_text events before the message', async () => {
    const reply = await send(gw, '/v1/responses', { body: { model: 'thinker', input: 'Which is oldest?', stream: true } });
    const events = validateStream(reply.text);
    const reasoning = events.filter((e) => e.type === 'response.reasoning_text.delta').map((e) => e.delta);
    assert.deepEqual(reasoning, ['Acme is ', 'oldest.']);
    const final = events.at(-1)!.response as Json;
    const output = final.output as Json[];
    assert.deepEqual(output.map((o) => o.type), ['reasoning', 'message']);
    assert.deepEqual(output[0]!.content, [{ type: 'reasoning_text', text: 'Acme is oldest.' }]);
    assert.equal((final.usage as { output_tokens_details: { reasoning_tokens: number } }).output_tokens_details.reasoning_tokens, 4);
    const sdk = await client.responses.stream({ model: 'thinker', input: 'Which is oldest?' }).finalResponse();
    assert.equal(sdk.output_text, 'Acme.');
    assert.equal(sdk.output[0]?.type, 'reasoning');
  });
});
