import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { Cancellation } from '../../src/lib/cancel.js';
import { requestAnswer } from '../../src/upstream/answer.js';

const BIG = 1024 * 1024;

describe('requestAnswer: the head first, then the body whole, streamed, dumped or cut', () => {
  let server: Server;
  let pool: Pool;
  /** The last path each server-side socket carried, when it closed: tells a kept connection from a cut one. */
  const closed: string[] = [];
  /** Responses held open by /hold, ended by the test. */
  const held: ServerResponse[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const socket = req.socket as Socket & { lastPath?: string };
      if (socket.lastPath === undefined) socket.once('close', () => closed.push(socket.lastPath!));
      socket.lastPath = req.url ?? '';
      req.resume();
      if (req.url === '/small') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-up': 'yes' });
        res.end('{"ok":true}');
      } else if (req.url === '/chunks') {
        res.writeHead(200);
        res.write('ab');
        setImmediate(() => res.end('cd'));
      } else if (req.url === '/big' || req.url === '/big-dump' || req.url === '/big-destroy') {
        res.writeHead(200, { 'content-length': String(BIG) });
        res.end(Buffer.alloc(BIG, 120));
      } else if (req.url === '/broken') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"partial"');
        setImmediate(() => res.destroy());
      } else if (req.url === '/hold') {
        res.writeHead(200);
        res.write('x');
        held.push(res);
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    // Idle connections stay open for the whole file: a close seen is a cut, never a timeout.
    server.keepAliveTimeout = 600_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 8, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });
  });
  after(async () => {
    for (const r of held) r.destroy();
    await pool.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, signal = new Cancellation()) => requestAnswer(pool, { method: 'GET', path }, signal);

  test('a small answer: status and headers at the head, the body whole', async () => {
    const a = await get('/small');
    assert.equal(a.statusCode, 200);
    assert.equal(a.headers['x-up'], 'yes');
    assert.equal((await a.body.whole()).toString(), '{"ok":true}');
  });

  test('a body in several chunks is read whole, in order', async () => {
    const a = await get('/chunks');
    assert.equal((await a.body.whole()).toString(), 'abcd');
  });

  test('a large body streams through a slow consumer, every byte in order', async () => {
    const a = await get('/big');
    let got = 0;
    let bad = false;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        if (chunk.some((b) => b !== 120)) bad = true;
        setImmediate(cb);
      },
    });
    await pipeline(a.body.stream(), slow);
    assert.equal(got, BIG);
    assert.equal(bad, false);
  });

  test('a body that breaks off: whole() rejects with the transport error', async () => {
    const a = await get('/broken');
    await assert.rejects(a.body.whole(), (err: Error) => err.name !== 'AbortError' && /other side closed|socket|terminated/i.test(`${err.message} ${(err as { code?: string }).code ?? ''}`));
  });

  test('a body that breaks off: the stream fails', async () => {
    const a = await get('/broken');
    await assert.rejects(pipeline(a.body.stream(), new Writable({ write: (_c, _e, cb) => cb() })));
  });

  test('dump() of a small body keeps the connection; of a large one cuts it', async () => {
    const small = await get('/small');
    small.body.dump();
    const big = await get('/big-dump');
    big.body.dump();
    // The cut connection closes on the server side; the small one's stays open for reuse.
    await waitFor(() => closed.includes('/big-dump'));
    assert.equal(closed.includes('/small'), false);
  });

  test('destroy() cuts a body that has not ended', async () => {
    const a = await get('/big-destroy');
    a.body.destroy();
    await waitFor(() => closed.includes('/big-destroy'));
  });

  test('a signal aborted before the head rejects with its reason', async () => {
    const signal = new Cancellation();
    const reason = new Error('client left');
    signal.abort(reason);
    await assert.rejects(get('/small', signal), (err) => err === reason);
  });

  test('a signal aborted while the body streams ends the stream with its reason', async () => {
    const signal = new Cancellation();
    const a = await get('/hold', signal);
    const s = a.body.stream();
    const reason = new Error('client left');
    const done = pipeline(s, new Writable({ write: (_c, _e, cb) => cb() }));
    signal.abort(reason);
    await assert.rejects(done, (err) => err === reason);
  });

  test('a body is read one way only', async () => {
    const a = await get('/small');
    await a.body.whole();
    assert.throws(() => a.body.stream(), /already being read/);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('condition not met within 20 s');
}
