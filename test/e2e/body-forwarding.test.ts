import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** What the upstream received: one body text per request. */
const received: string[] = [];

describe('request bodies reach the upstream as the client sent them when unchanged', () => {
  let upstream: Server;
  let gw: TestGateway;
  before(async () => {
    upstream = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(parts).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    gw = await startGateway({
      providers: { up: { type: 'openai', baseUrl } },
      routes: [
        { match: 'renamed', targets: [{ provider: 'up', model: 'upstream-name' }] },
        { match: '*', targets: [{ provider: 'up' }] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  async function post(body: string, contentType: string): Promise<string> {
    received.length = 0;
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump();
    assert.equal(received.length, 1);
    return received[0]!;
  }

  test('the exact text: spacing, number forms and escapes kept', async () => {
    const text = '{ "model": "m",\n  "messages": [{"role": "user", "content": "caf\\u00e9 \\ud83d\\ude00"}], "temperature": 1.0, "seed": 12345678901234567890 }';
    assert.equal(await post(text, 'application/json'), text);
    assert.equal(await post(`\ufeff${text}`, 'application/json; charset=utf-8'), text);
    // A media type parameter the fast path does not take: served by the fastify route, same text.
    assert.equal(await post(text, 'application/json; charset=utf-8; x=1'), text);
  });

  test('a body the gateway changed (the target renames the model) is serialised anew', async () => {
    const sent = await post('{ "model": "renamed", "messages": [{"role": "user", "content": "hi"}] }', 'application/json');
    assert.deepEqual(JSON.parse(sent), { model: 'upstream-name', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(sent, JSON.stringify(JSON.parse(sent)));
  });

  test('a JSON body sent with another content type (curl -d) is still served', async () => {
    const sent = await post('{"model":"m","messages":[{"role":"user","content":"hi"}]}', 'application/x-www-form-urlencoded');
    assert.deepEqual(JSON.parse(sent), { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  });
});
