import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
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
