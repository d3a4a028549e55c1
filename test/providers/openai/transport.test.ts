import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import * as req from '../../helpers/requests.js';

// A stream's upstream connection goes back to the pool: the body is read to its end after
// [DONE] instead of being left (and destroyed) there.

let upstream: Server;
let connections = 0;
let gw: TestGateway;

before(async () => {
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write('data: [DONE]\n\n');
    // The end of the body comes a moment after [DONE], as it may over a real network.
    setTimeout(() => res.end(), 20);
  });
  upstream.on('connection', () => connections++);
  await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', ok));
  gw = await startGateway({ providers: { p: { type: 'openai', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, connections: 4 } }, routes: [{ match: '*', targets: [{ provider: 'p' }] }] });
});

after(async () => {
  await gw.close();
  upstream.closeAllConnections();
  await new Promise((ok) => upstream.close(ok));
});

test('sequential streams reuse one upstream connection, and each ends with [DONE]', async () => {
  for (let i = 0; i < 5; i++) {
    const res = await req.chat(gw, { model: 'm', stream: true, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(res.status, 200);
    assert.match(res.text, /"content":"hi"/);
    assert.ok(res.text.trimEnd().endsWith('data: [DONE]'), res.text);
  }
  assert.equal(connections, 1);
});

test('the upstream request carries the provider headers, the key, accept and the request id, each once', async () => {
  const seen: string[][] = [];
  const server = createServer((r, res) => {
    seen.push(r.rawHeaders);
    r.resume();
    r.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  // A configured accept or x-request-id gives way to the call's own, as it always did.
  const g = await startGateway({ providers: { p: { type: 'openai', baseUrl: base, apiKey: 'sk-upstream-0123456789', headers: { 'x-team': 'blue', accept: 'text/plain', 'x-request-id': 'configured' } } }, routes: [{ match: '*', targets: [{ provider: 'p' }] }] });
  try {
    const json = await req.chat(g, { model: 'm', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-request-id': 'req-json-1' } });
    assert.equal(json.status, 200);
    const headers = seen[0]!;
    const all = (name: string): string[] => {
      const out: string[] = [];
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) out.push(headers[i + 1]!);
      return out;
    };
    assert.deepEqual(all('x-team'), ['blue']);
    assert.deepEqual(all('authorization'), ['Bearer sk-upstream-0123456789']);
    assert.deepEqual(all('content-type'), ['application/json']);
    assert.deepEqual(all('accept'), ['application/json']);
    assert.deepEqual(all('x-request-id'), ['req-json-1']);
  } finally {
    await g.close();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
});
