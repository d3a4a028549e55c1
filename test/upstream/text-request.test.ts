import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { requestText } from '../../src/upstream/text-request.js';

describe('requestText: an answer read whole, as request() + body.text() read it', () => {
  let server: Server;
  let pool: Pool;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/bom') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é"}')]));
      } else if (req.url === '/chunks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        setTimeout(() => res.end('"b"}'), 20);
      } else if (req.url === '/big-error') {
        res.writeHead(500, { 'retry-after': '7' });
        res.end('x'.repeat(100_000));
      } else if (req.url === '/stall') {
        res.writeHead(200);
        res.write('{"partial":');
        // never ends
      } else if (req.url === '/broken-error') {
        res.writeHead(503, { 'content-length': '100' });
        res.write('{"error"');
        setTimeout(() => res.destroy(), 10);
      } else {
        res.writeHead(404);
        res.end('{"error":{"message":"nope"}}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 4 });
  });
  after(async () => {
    await pool.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, signal = new AbortController().signal, extra = {}): ReturnType<typeof requestText> => requestText(pool, { method: 'GET', path, ...extra }, signal, 64 * 1024);

  test('a body in several chunks, status and headers', async () => {
    const res = await get('/chunks');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.text, '{"a":"b"}');
  });

  test('a leading UTF-8 BOM is dropped, multi-byte text decoded', async () => {
    assert.equal((await get('/bom')).text, '{"a":"é"}');
  });

  test('an error answer: its body up to the limit, headers kept', async () => {
    const res = await get('/big-error');
    assert.equal(res.status, 500);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(res.text.length, 64 * 1024);
    assert.equal((await get('/missing')).text, '{"error":{"message":"nope"}}');
  });

  test('an error answer whose body breaks off has an empty text', async () => {
    const res = await get('/broken-error');
    assert.equal(res.status, 503);
    assert.equal(res.text, '');
  });

  test('an abort during the body rejects with the signal reason', async () => {
    const controller = new AbortController();
    const reason = new Error('client went away');
    const pending = get('/stall', controller.signal);
    setTimeout(() => controller.abort(reason), 30);
    await assert.rejects(pending, (err) => err === reason);
  });

  test('an already aborted signal rejects with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('gone before');
    controller.abort(reason);
    await assert.rejects(get('/chunks', controller.signal), (err) => err === reason);
  });

  test("undici's body timeout rejects with undici's error", async () => {
    await assert.rejects(get('/stall', new AbortController().signal, { bodyTimeout: 50 }), (err: Error & { code?: string }) => err.code === 'UND_ERR_BODY_TIMEOUT');
  });
});
