import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * /v1/responses is translated to chat and routed like any request (issue 18), so it works with
 * every provider type: the openai SDK against openai-, anthropic- and gemini-type providers
 * reaching the standalone mock over HTTP (each in its own wire format), and the in-process mock.
 */
const providers: Record<string, (mock: MockServer) => Record<string, unknown>> = {
  openai: (mock) => ({ type: 'openai', baseUrl: mock.url, apiKey: 'sk-up' }),
  anthropic: (mock) => ({ type: 'anthropic', baseUrl: mock.url, apiKey: 'sk-ant-up' }),
  gemini: (mock) => ({ type: 'gemini', baseUrl: `${mock.origin}/v1beta`, apiKey: 'AIza-up' }),
  mock: () => ({ type: 'mock' }),
};

describe('/v1/responses to every provider type', () => {
  let mock: MockServer;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    mock = await startMockServer({ port: 0 });
    gw = await startGateway({
      providers: Object.fromEntries(Object.entries(providers).map(([name, make]) => [name, make(mock)])),
      routes: Object.keys(providers).map((name) => ({ match: `${name}-model`, targets: [{ provider: name, model: 'mock-1' }] })),
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await mock.close();
  });

  const weather = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false };

  for (const name of Object.keys(providers)) {
    test(`${name}: JSON, stream, and a function call round trip`, async () => {
      const model = `${name}-model`;
      const json = await client.responses.create({ model, input: 'Rank these brands by trust: Acme, Globex, Initech.' });
      assert.equal(json.status, 'completed');
      assert.ok(json.output_text.length > 0);
      assert.ok((json.usage?.output_tokens ?? 0) > 0);
      const stream = client.responses.stream({ model, input: 'Rank these brands by trust: Acme, Globex, Initech.' });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, json.output_text, 'the stream says what the JSON answer said');
      assert.ok((final.usage?.output_tokens ?? 0) > 0);
      const first = await client.responses.create({ model, input: 'Call get_weather.', tools: [weather], tool_choice: 'required' });
      const call = first.output.find((o) => o.type === 'function_call');
      assert.ok(call !== undefined && call.type === 'function_call', JSON.stringify(first.output));
      assert.deepEqual(JSON.parse(call.arguments), { city: 'mock-city' });
      const second = await client.responses.create({ model, tools: [weather], input: [{ role: 'user', content: 'Call get_weather.' }, call, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] });
      assert.equal(second.status, 'completed');
      assert.ok(second.output_text.length > 0);
    });
  }
});
