import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';

/** The standalone mock answers /v1/responses natively (issue 18), as the openai SDK reads it. */
describe('mock server: /v1/responses', () => {
  let mock: MockServer;
  let client: OpenAI;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    client = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
  });

  after(async () => {
    await mock.close();
  });

  test('JSON and stream say the same text; the chat endpoint says it too', async () => {
    const input = 'Rank these brands by trust: Acme, Globex, Initech.';
    const res = await client.responses.create({ model: 'mock-1', input });
    assert.equal(res.status, 'completed');
    const chat = await client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: input }] });
    assert.equal(res.output_text, chat.choices[0]?.message.content);
    const final = await client.responses.stream({ model: 'mock-1', input }).finalResponse();
    assert.equal(final.output_text, res.output_text);
    assert.equal(final.usage?.output_tokens, res.usage?.output_tokens);
  });

  test('tools: a function call item', async () => {
    const res = await client.responses.create({ model: 'mock-1', input: 'go', tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, strict: false }], tool_choice: 'required' });
    const call = res.output.find((o) => o.type === 'function_call');
    assert.ok(call !== undefined && call.type === 'function_call');
    assert.deepEqual(JSON.parse(call.arguments), { n: 42 });
  });

  test('previous_response_id and hosted tools are 400s', async () => {
    await assert.rejects(client.responses.create({ model: 'mock-1', input: 'x', previous_response_id: 'resp_1' }), (err: unknown) => err instanceof OpenAI.BadRequestError);
    await assert.rejects(client.responses.create({ model: 'mock-1', input: 'x', tools: [{ type: 'web_search' }] }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'tools[0].type');
  });
});
