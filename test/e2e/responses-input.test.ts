import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson } from '../helpers/requests.js';

/** Client input never causes a 5xx on /v1/responses (issue 18): malformed bodies are coded 400s. */
const bodies: Record<string, unknown>[] = [
  { model: 'mock-1' },
  { model: 'mock-1', input: [] },
  { model: 'mock-1', input: [null] },
  { model: 'mock-1', input: [{}] },
  { model: 'mock-1', input: [{ type: 'message', role: 'user', content: [null] }] },
  { model: 'mock-1', input: [{ type: 'message', role: 'user', content: {} }] },
  { model: 'mock-1', input: [{ role: 'assistant', content: [{ type: 'output_text' }] }] },
  { model: 'mock-1', input: [{ role: 'user', content: [{ type: 'input_text', text: 5 }] }] },
  { model: 'mock-1', input: [{ type: 'function_call_output', call_id: 'x', output: {} }] },
  { model: 'mock-1', input: [{ type: 'function_call', call_id: 'x', name: 'f', arguments: {} }] },
  { model: 'mock-1', input: 'x', tools: [null] },
  { model: 'mock-1', input: 'x', tools: [{ type: 'function' }] },
  { model: 'mock-1', input: 'x', tool_choice: { type: 'function' } },
  { model: 'mock-1', input: 'x', text: { format: { type: 'json_schema', name: 5, schema: {} } } },
  { model: 'mock-1', input: 'x', text: { format: { type: 'xml' } } },
  { model: 'mock-1', input: 'x', metadata: { a: 1 } },
  { model: 'mock-1', input: 'x', metadata: { a: 'nul\u0000' } },
  { model: 'mock-1', input: 'x', max_output_tokens: 0 },
  { model: 'mock-1', input: 'x', previous_response_id: '' },
  { model: 'mock-1', input: 'x', stream: 'yes' },
  { model: 5, input: 'x' },
];

describe('/v1/responses refuses malformed input with coded 400s', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway({ providers: { mock: { type: 'mock' } }, routes: [{ match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] }] });
  });

  after(async () => {
    await gw.close();
  });

  for (const [i, body] of bodies.entries()) {
    test(`body ${i}: ${JSON.stringify(body).slice(0, 90)}`, async () => {
      const res = await sendJson(gw, '/v1/responses', { body });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_REQUEST');
      assert.ok(res.json.error?.param !== undefined, 'the OpenAI error shape has a param');
    });
  }

  test('a body that is not JSON is the catalog 400', async () => {
    const res = await sendJson(gw, '/v1/responses', { body: '{"model":', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error?.code, 'SLUICE_ERR_INVALID_JSON');
  });
});
