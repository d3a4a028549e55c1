import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { send, sendJson } from '../helpers/requests.js';

/**
 * Stored responses (issue 18): previous_response_id across turns, GET / DELETE
 * /v1/responses/{id}, input_items, and tenant isolation between two keys, with the openai SDK
 * against a gateway with an (in-memory) database.
 */

/** `store` is on the wire's Response, not in the SDK's type. */
const storeOf = (res: object): unknown => (res as { store?: unknown }).store;

const KEY_A = 'sk-tenant-a-0123456789abcdef';
const KEY_B = 'sk-tenant-b-0123456789abcdef';

describe('stored responses through the openai SDK', () => {
  let gw: TestGateway;
  let a: OpenAI;
  let b: OpenAI;

  before(async () => {
    gw = await startGateway({
      // Admin tokens open the database (embedded, in memory), as usage accounting would.
      database: { embedded: 'memory' },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      auth: { required: true },
      keys: [
        { name: 'a', key: KEY_A },
        { name: 'b', key: KEY_B },
      ],
      providers: { mock: { type: 'mock' } },
      routes: [{ match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] }],
    });
    a = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
    b = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
  });

  test('previous_response_id carries the first turn (input and output) into the second', async () => {
    const first = await a.responses.create({ model: 'mock-1', instructions: 'Be brief.', input: 'My name is Ada.' });
    assert.equal(storeOf(first), true);
    const second = await a.responses.create({ model: 'mock-1', previous_response_id: first.id, input: 'What is my name?' });
    assert.equal(second.previous_response_id, first.id);
    // The mock counts what it was sent: the second turn's prompt holds the first turn's input and answer.
    assert.ok(second.usage!.input_tokens > first.usage!.input_tokens + first.usage!.output_tokens - 10, `${second.usage!.input_tokens} vs ${first.usage!.input_tokens}+${first.usage!.output_tokens}`);
    const alone = await a.responses.create({ model: 'mock-1', input: 'What is my name?', store: false });
    assert.equal(storeOf(alone), false);
    assert.ok(second.usage!.input_tokens > alone.usage!.input_tokens + first.usage!.output_tokens / 2);
    // A third turn chains through the second.
    const third = await a.responses.create({ model: 'mock-1', previous_response_id: second.id, input: 'And again?' });
    assert.ok(third.usage!.input_tokens > second.usage!.input_tokens);
  });

  test('GET returns the stored response; input_items lists the turn’s items', async () => {
    const created = await a.responses.create({
      model: 'mock-1',
      input: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'input_text', text: 'second' }] },
      ],
    });
    const got = await a.responses.retrieve(created.id);
    assert.equal(got.id, created.id);
    assert.equal(got.output_text, created.output_text);
    assert.deepEqual(got.usage, created.usage);
    const items = [];
    for await (const item of a.responses.inputItems.list(created.id, { order: 'asc' })) items.push(item);
    assert.deepEqual(
      items.map((i) => (i.type === 'message' ? [i.role, i.content.map((c) => ('text' in c ? c.text : ''))] : i.type)),
      [
        ['user', ['first']],
        ['assistant', ['ok']],
        ['user', ['second']],
      ],
    );
    assert.ok(items.every((i) => typeof i.id === 'string' && i.id !== ''));
    const page = await sendJson(gw, `/v1/responses/${created.id}/input_items?limit=2`, { bearer: KEY_A });
    assert.equal(page.status, 200);
    assert.equal((page.json.data as unknown[]).length, 2);
    assert.equal(page.json.has_more, true);
    assert.equal(page.json.first_id, items[2]!.id, 'desc by default: the last item first');
  });

  test('another key cannot read, list, delete or continue a response: 404, not 403', async () => {
    const mine = await a.responses.create({ model: 'mock-1', input: 'secret' });
    await assert.rejects(b.responses.retrieve(mine.id), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'SLUICE_ERR_RESPONSE_NOT_FOUND');
    await assert.rejects(b.responses.delete(mine.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
    const items = await send(gw, `/v1/responses/${mine.id}/input_items`, { bearer: KEY_B });
    assert.equal(items.status, 404);
    await assert.rejects(b.responses.create({ model: 'mock-1', previous_response_id: mine.id, input: 'tell me' }), (err: unknown) => err instanceof OpenAI.NotFoundError && err.param === 'previous_response_id');
    // Still there for its owner.
    assert.equal((await a.responses.retrieve(mine.id)).id, mine.id);
    const anonymous = await send(gw, `/v1/responses/${mine.id}`);
    assert.equal(anonymous.status, 401);
  });

  test('DELETE, then GET is 404', async () => {
    const res = await a.responses.create({ model: 'mock-1', input: 'forget me' });
    const deleted = await sendJson(gw, `/v1/responses/${res.id}`, { method: 'DELETE', bearer: KEY_A });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, { id: res.id, object: 'response', deleted: true });
    await assert.rejects(a.responses.retrieve(res.id), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'SLUICE_ERR_RESPONSE_NOT_FOUND');
    await assert.rejects(a.responses.delete(res.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
  });

  test('a deleted turn is 404 for its caller but stays in the conversation that continues it', async () => {
    const first = await a.responses.create({ model: 'mock-1', input: 'My name is Ada.' });
    const second = await a.responses.create({ model: 'mock-1', previous_response_id: first.id, input: 'I live in Paris.' });
    const third = await a.responses.create({ model: 'mock-1', previous_response_id: second.id, input: 'Noted?' });
    const recap = async (): Promise<number> => (await a.responses.create({ model: 'mock-1', previous_response_id: third.id, input: 'Recap.', store: false })).usage!.input_tokens;
    const before = await recap();
    await a.responses.delete(second.id);
    await assert.rejects(a.responses.retrieve(second.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
    await assert.rejects(a.responses.create({ model: 'mock-1', previous_response_id: second.id, input: 'x' }), (err: unknown) => err instanceof OpenAI.NotFoundError && err.param === 'previous_response_id');
    // The mock counts the prompt it was sent: the same three turns before and after.
    assert.equal(await recap(), before);
  });

  test('store: false keeps nothing', async () => {
    const res = await a.responses.create({ model: 'mock-1', input: 'ephemeral', store: false });
    await assert.rejects(a.responses.retrieve(res.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
  });

  test('a streamed response is stored too, and continues', async () => {
    const stream = a.responses.stream({ model: 'mock-1', input: 'stream and keep' });
    const final = await stream.finalResponse();
    const got = await a.responses.retrieve(final.id);
    assert.equal(got.output_text, final.output_text);
    const next = await a.responses.create({ model: 'mock-1', previous_response_id: final.id, input: 'more' });
    assert.equal(next.status, 'completed');
  });

  test('unknown sub-paths and methods under /v1/responses/ are the catalog 404', async () => {
    const res = await sendJson(gw, '/v1/responses/resp_x/cancel', { bearer: KEY_A });
    assert.equal(res.status, 404);
    assert.equal(res.json.error?.code, 'SLUICE_ERR_NOT_FOUND');
  });
});

describe('stored responses without a database', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway({ providers: { mock: { type: 'mock' } }, routes: [{ match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] }] });
  });

  after(async () => {
    await gw.close();
  });

  test('responses say store: false; previous_response_id is a clear 400; GET is 404', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-any', maxRetries: 0 });
    const res = await client.responses.create({ model: 'mock-1', input: 'hi' });
    assert.equal(storeOf(res), false);
    await assert.rejects(client.responses.create({ model: 'mock-1', input: 'again', previous_response_id: res.id }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'SLUICE_ERR_RESPONSES_NOT_STORED');
    await assert.rejects(client.responses.retrieve(res.id), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'SLUICE_ERR_RESPONSE_NOT_FOUND');
  });
});
