import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

test('streamUsage: false sends no stream_options, for APIs that reject it (Mistral)', async () => {
  // Like Mistral: 422 for unknown fields; usage in the last chunk, unasked.
  const upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if ('stream_options' in (JSON.parse(body) as Record<string, unknown>)) {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'error', message: 'Extra inputs are not permitted', type: 'invalid_request_error', code: 'extra_forbidden' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' } }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const { port } = upstream.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const gw = await startGateway({
    routing: { retry: { attempts: 0 } },
    providers: { strict: { type: 'openai', baseUrl }, relaxed: { type: 'openai', baseUrl, streamUsage: false } },
    routes: [
      { match: 'strict', targets: [{ provider: 'strict' }] },
      { match: 'relaxed', targets: [{ provider: 'relaxed' }] },
    ],
  });
  const stream = (model: string) =>
    request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }) }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
  try {
    assert.equal((await stream('strict')).status, 422, 'by default Sluice asks for usage, which this API refuses');
    const ok = await stream('relaxed');
    assert.equal(ok.status, 200);
    assert.match(ok.text, /"content":"hi"/);
    assert.match(ok.text, /data: \[DONE\]/);
    const requestLines = () => gw.logs.map((l) => JSON.parse(l) as { msg: string; tokens?: { completion: number } }).filter((l) => l.msg === 'request');
    await waitFor(() => requestLines().length === 2, 'both request log lines');
    const line = requestLines().at(-1);
    assert.deepEqual(line?.tokens, { prompt: 5, completion: 1 }, 'usage the upstream sent unasked is still counted');
  } finally {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  }
});
