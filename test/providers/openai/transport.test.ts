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
