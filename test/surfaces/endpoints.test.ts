import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/messages'];

const post = (gw: TestGateway, path: string, body: string, contentType = 'application/json') => req.sendJson(gw, path, { method: 'POST', body, headers: { 'content-type': contentType } });

describe('hostile request bodies on the model surfaces (issue 15)', () => {
  let gw: TestGateway;
  let withCors: TestGateway;
  before(async () => {
    gw = await startGateway({});
    // With CORS on (which once sent model requests through fastify instead of the fast path): the edge serves both the same way.
    withCors = await startGateway({ server: { cors: { origins: ['http://example.test'] } } });
  });
  after(async () => {
    await gw.close();
    await withCors.close();
  });

  test('regression: 5,000 nested arrays in a 10 KB body gave 500 SLUICE_ERR_INTERNAL; now 400 SLUICE_ERR_JSON_TOO_DEEP', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const bodies = [
      `{"model":"mock-1","messages":[{"role":"user","content":${deep}}]}`,
      `{"model":"mock-1","prompt":${deep}}`,
      `{"model":"mock-1","input":${deep}}`,
      `{"model":"mock-1","max_tokens":5,"messages":[{"role":"user","content":${deep}}]}`,
    ];
    for (const server of [gw, withCors]) {
      for (const [i, path] of ENDPOINTS.entries()) {
        const res = await post(server, path, bodies[i]!);
        assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
        assert.match(JSON.stringify(res.json), /SLUICE_ERR_JSON_TOO_DEEP/);
      }
      // A text/plain body is handed over as text, not parsed: refused as not a JSON object.
      assert.equal((await post(server, '/v1/chat/completions', bodies[0]!, 'text/plain')).status, 400);
    }
    assert.equal(gw.logs.filter((l) => l.includes('"level":50')).length, 0, 'no error was logged for client input');
  });

  test('nesting within the bound is still served', async () => {
    const content = `${'['.repeat(40)}{"type":"text","text":"hi"}${']'.repeat(40)}`;
    const res = await post(gw, '/v1/chat/completions', `{"model":"mock-1","messages":[{"role":"user","content":${content}}]}`);
    assert.notEqual(res.status, 400, JSON.stringify(res.json));
    assert.ok(res.status < 500);
  });

  test('regression: a model name with a NUL or a lone surrogate was served (its usage record then refused by PostgreSQL); now 400 naming the field', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['/v1/chat/completions', { model: 'gpt-4o\u0000', messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      ['/v1/chat/completions', { model: 'gpt-4o\ud800', messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      ['/v1/chat/completions', { model: 'mock-1', user: 'u\u0000', messages: [{ role: 'user', content: 'hi' }] }, 'user'],
      ['/v1/completions', { model: 'mock-1', prompt: 'hi', metadata: { trace: 'a\udc00' } }, 'metadata.trace'],
      ['/v1/embeddings', { model: 'mock\u0000', input: 'hi' }, 'model'],
      ['/v1/messages', { model: 'mock-1', max_tokens: 5, metadata: { user_id: 'u\ud800' }, messages: [{ role: 'user', content: 'hi' }] }, 'metadata.user_id'],
    ];
    for (const server of [gw, withCors]) {
      for (const [path, body, param] of cases) {
        const res = await post(server, path, JSON.stringify(body));
        assert.equal(res.status, 400, `${path} ${param}: ${JSON.stringify(res.json)}`);
        const text = JSON.stringify(res.json);
        assert.match(text, /SLUICE_ERR_INVALID_REQUEST|invalid_request_error/);
        assert.ok(text.includes(JSON.stringify(param).slice(1, -1)), `names ${param}: ${text}`);
      }
    }
    // Paired surrogates (emoji) and other unicode are fine.
    const ok = await post(gw, '/v1/chat/completions', JSON.stringify({ model: 'mock-1', user: 'é\ud83d\ude00', messages: [{ role: 'user', content: 'hi\u0000 in content is not stored' }] }));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.error, undefined);
  });
});
