import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import * as req from '../helpers/requests.js';

async function call(url: string, path: string, init: { method?: 'GET' | 'POST'; body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const reply = await req.send(url, path, { method: init.method ?? 'POST', body: init.body, headers: init.headers ?? { 'content-type': 'application/json' } });
  return { ...reply, json: req.looseJson(reply.text) }; // not JSON: metrics
}

describe('HTTP surface: bad input is a coded 4xx, never a 5xx', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ server: { bodyLimit: '2kb' }, providers: { up: { type: 'mock' } }, routes: [{ match: 'gpt-*', targets: [{ provider: 'up' }] }] });
  });
  after(() => gw.close());

  const cases: { name: string; path?: string; body: string; headers?: Record<string, string>; status: number; code: string; param?: string; message?: RegExp }[] = [
    { name: 'malformed JSON', body: '{"model": "gpt-4o", "messages": [', status: 400, code: 'SLUICE_ERR_INVALID_JSON' },
    { name: 'empty body', body: '', status: 400, code: 'SLUICE_ERR_INVALID_JSON' },
    { name: 'a JSON array', body: '[1,2]', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST' },
    { name: 'missing model', body: '{"messages":[{"role":"user","content":"hi"}]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'model', message: /"model" is required/ },
    { name: 'model of the wrong type', body: '{"model":42,"messages":[{"role":"user","content":"hi"}]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'model', message: /must be a string/ },
    { name: 'missing messages', body: '{"model":"gpt-4o"}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'messages', message: /"messages" is required/ },
    { name: 'messages not an array', body: '{"model":"gpt-4o","messages":"hi"}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'messages' },
    { name: 'empty messages', body: '{"model":"gpt-4o","messages":[]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'messages' },
    { name: 'a message without role', body: '{"model":"gpt-4o","messages":[{"content":"hi"}]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'messages[0].role' },
    { name: 'stream not a boolean', body: '{"model":"gpt-4o","stream":"yes","messages":[{"role":"user","content":"hi"}]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'stream' },
    { name: 'temperature out of range', body: '{"model":"gpt-4o","temperature":7,"messages":[{"role":"user","content":"hi"}]}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'temperature' },
    { name: 'unknown model', body: '{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}', status: 404, code: 'SLUICE_ERR_MODEL_NOT_FOUND', param: 'model' },
    { name: 'body over the limit', body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] }), status: 413, code: 'SLUICE_ERR_BODY_TOO_LARGE' },
    { name: 'embeddings without input', path: '/v1/embeddings', body: '{"model":"gpt-e"}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'input' },
    { name: 'completions with a numeric prompt', path: '/v1/completions', body: '{"model":"gpt-i","prompt":5}', status: 400, code: 'SLUICE_ERR_INVALID_REQUEST', param: 'prompt' },
    { name: 'unknown endpoint', path: '/v1/nope', body: '{}', status: 404, code: 'SLUICE_ERR_NOT_FOUND' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const res = await call(gw.url, c.path ?? '/v1/chat/completions', { body: c.body, headers: c.headers });
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.json.error?.code, c.code);
      assert.equal(typeof res.json.error?.message, 'string');
      assert.equal(typeof res.json.error?.type, 'string');
      if (c.param !== undefined) assert.equal(res.json.error?.param, c.param);
      if (c.message !== undefined) assert.match(res.json.error?.message ?? '', c.message);
    });
  }

  test('JSON posted without a JSON content type (curl -d) is accepted', async () => {
    const res = await call(gw.url, '/v1/chat/completions', {
      body: '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200, res.text);
  });

  test('the gateway keeps serving after all of the above', async () => {
    const res = await call(gw.url, '/v1/chat/completions', { body: '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}' });
    assert.equal(res.status, 200);
  });
});

describe('HTTP surface: operations endpoints', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({}); // the built-in default: every model to the mock
  });
  after(() => gw.close());

  test('x-request-id is accepted and returned, or generated', async () => {
    const given = await call(gw.url, '/v1/chat/completions', { body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}', headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' } });
    assert.equal(given.headers['x-request-id'], 'req-abc-123');
    const generated = await call(gw.url, '/health', { method: 'GET', headers: {} });
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const streamed = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-request-id': 'req-stream-1' }, body: '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' });
    assert.equal(streamed.headers['x-request-id'], 'req-stream-1');
    await streamed.body.text();
    await waitFor(() => gw.logs.some((l) => l.includes('"reqId":"req-abc-123"')), 'the request id in a log line');
  });

  test('/health and /ready answer 200', async () => {
    assert.equal((await call(gw.url, '/health', { method: 'GET', headers: {} })).status, 200);
    const ready = await call(gw.url, '/ready', { method: 'GET', headers: {} });
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
  });

  test('/metrics exposes request counters and latency histograms by route and status', async () => {
    await call(gw.url, '/v1/chat/completions', { body: '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}' });
    await call(gw.url, '/v1/chat/completions', { body: '{"messages":[]}' });
    const res = await call(gw.url, '/metrics', { method: 'GET', headers: {} });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    assert.match(res.text, /sluice_requests_total\{endpoint="chat",route="mock-1",provider="mock",model="mock-1",status="200",code=""\} [1-9]/);
    assert.match(res.text, /sluice_requests_total\{endpoint="chat",route="",provider="",model="",status="400",code="SLUICE_ERR_INVALID_REQUEST"\} 1/);
    assert.match(res.text, /sluice_request_duration_seconds_bucket\{le="0.005",endpoint="chat",route="mock-1",provider="mock",model="mock-1"\}/);
    assert.match(res.text, /sluice_time_to_first_byte_seconds_count/);
    assert.match(res.text, /sluice_tokens_total\{route="mock-1",provider="mock",model="mock-1",kind="completion"\} [1-9]/);
    assert.match(res.text, /sluice_process_resident_memory_bytes/);
  });
});

describe('secrets never reach the log', () => {
  test('provider keys and client credentials are absent from every log line', async () => {
    const gw = await startGateway(
      { providers: { up: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: '${UPSTREAM_KEY}' } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] },
      { UPSTREAM_KEY: 'sk-upstream-topsecret-1234' },
    );
    try {
      const res = await call(gw.url, '/v1/chat/completions', {
        body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-topsecret-5678' },
      });
      assert.equal(res.status, 502);
      gw.gateway.app.log.info({ config: gw.gateway.config }, 'config dump for the test');
      await waitFor(() => gw.logs.some((l) => l.includes('config dump for the test')), 'the config dump in the log');
      const all = gw.logs.join('\n');
      assert.ok(all.includes('config dump for the test'), 'the config was logged');
      assert.ok(!all.includes('sk-upstream-topsecret-1234'), 'provider key leaked into the log');
      assert.ok(!all.includes('sk-client-topsecret-5678'), 'client key leaked into the log');
      assert.ok(all.includes('[redacted]'));
    } finally {
      await gw.close();
    }
  });
});
