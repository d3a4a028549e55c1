import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';

test('a client that does not read slows the upstream instead of filling gateway memory', async () => {
  // An upstream that streams ~1 KiB chunks as fast as its socket accepts them, up to 256 MiB,
  // and stops writing whenever the socket says it is full.
  let written = 0;
  let stopped = false;
  const chunk = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'y'.repeat(1000) } }] })}\n\n`;
  const upstream = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pump = (): void => {
      while (!stopped && written < 256 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end('data: [DONE]\n\n');
    };
    res.on('close', () => (stopped = true));
    pump();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  const gw = await startGateway({ providers: { up: { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] });
  try {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.statusCode, 200);
    // Read nothing: every buffer between upstream and client fills, then the upstream must be
    // held back. Wait until its count stops moving (buffers fill at the machine's pace).
    let heldAt = -1;
    for (let i = 0; i < 50 && written !== heldAt; i++) {
      heldAt = written;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(written, heldAt, 'the upstream kept writing while the client was not reading');
    assert.ok(written < 64 * 1024 * 1024, `upstream wrote ${written} bytes to a client that read nothing`);
    // Reading resumes the flow.
    let received = 0;
    for await (const piece of res.body) {
      received += (piece as Buffer).length;
      if (received > heldAt + 1024 * 1024) break;
    }
    assert.ok(written > heldAt, 'the upstream resumed once the client read');
  } finally {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  }
});
