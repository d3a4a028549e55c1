import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { parseSseText, startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

const chat = (model: string, stream = true) => JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'tell me a story' }] });

const post = (url: string, body: string) => req.chat(url, body);

/** A raw upstream under the test's control: `handler` decides what each request gets. */
async function rawUpstream(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('streams that fail', () => {
  let mock: MockServer;
  let gw: TestGateway;
  let silent: Awaited<ReturnType<typeof rawUpstream>>;
  let noDone: Awaited<ReturnType<typeof rawUpstream>>;
  let limited: Awaited<ReturnType<typeof rawUpstream>>;

  before(async () => {
    mock = await startMockServer({ port: 0, options: { dropAfterChunks: 3 } });
    // Answers headers, one chunk, then goes quiet: for first-byte and idle timeouts.
    silent = await rawUpstream((req, res) => {
      if (req.url?.includes('quiet-after-one')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
        return;
      }
      // never answers
    });
    noDone = await rawUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
    });
    limited = await rawUpstream((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }));
    });
    const dead = await freePort();
    gw = await startGateway({
      // These tests are about how each failure reaches the client, one upstream call each;
      // retries and breakers are tested in routing.test.ts.
      routing: { retry: { attempts: 0 }, breaker: { enabled: false } },
      providers: {
        dropInProcess: { type: 'mock', dropAfterChunks: 3 },
        dropAtOnce: { type: 'mock', dropAfterChunks: 0 },
        dropHttp: { type: 'openai', baseUrl: mock.url },
        dead: { type: 'openai', baseUrl: `http://127.0.0.1:${dead}/v1` },
        silent: { type: 'openai', baseUrl: silent.url, timeouts: { firstByte: '200ms', idle: '200ms' } },
        quiet: { type: 'openai', baseUrl: `${silent.url}/quiet-after-one`, timeouts: { firstByte: '2s', idle: '200ms' } },
        noDone: { type: 'openai', baseUrl: noDone.url },
        limited: { type: 'openai', baseUrl: limited.url },
      },
      routes: [
        { match: 'drop-in-process', targets: [{ provider: 'dropInProcess' }] },
        { match: 'drop-at-once', targets: [{ provider: 'dropAtOnce' }] },
        { match: 'drop-http', targets: [{ provider: 'dropHttp' }] },
        { match: 'dead', targets: [{ provider: 'dead' }] },
        { match: 'silent', targets: [{ provider: 'silent' }] },
        { match: 'quiet', targets: [{ provider: 'quiet' }] },
        { match: 'no-done', targets: [{ provider: 'noDone' }] },
        { match: 'limited', targets: [{ provider: 'limited' }] },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await Promise.all([mock.close(), silent.close(), noDone.close(), limited.close()]);
  });

  for (const model of ['drop-in-process', 'drop-http']) {
    test(`a stream cut after 3 chunks ends with an SSE error event, never a clean end (${model})`, async () => {
      const res = await post(gw.url, chat(model));
      assert.equal(res.status, 200);
      const events = parseSseText(res.text);
      const data = events.filter((e) => e.event === null);
      assert.equal(data.length, 3, res.text);
      const last = events.at(-1)!;
      assert.equal(last.event, 'error');
      assert.equal(JSON.parse(last.data).error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
      assert.ok(!res.text.includes('[DONE]'));
    });
  }

  test('the openai SDK throws on a stream that broke off', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'drop-http', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /broke off|ended/.test(err.message),
    );
    assert.equal(chunks, 3);
  });

  test('a stream that fails before its first chunk is a plain HTTP error', async () => {
    const res = await post(gw.url, chat('drop-at-once'));
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.text).error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
  });

  test('an upstream stream that ends without [DONE] is reported as interrupted', async () => {
    const res = await post(gw.url, chat('no-done'));
    const last = parseSseText(res.text).at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal(JSON.parse(last.data).error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
  });

  test('an unreachable upstream is a 502 with its code', async () => {
    for (const stream of [false, true]) {
      const res = await post(gw.url, chat('dead', stream));
      assert.equal(res.status, 502);
      assert.equal(JSON.parse(res.text).error.code, 'SLUICE_ERR_UPSTREAM_UNREACHABLE');
    }
  });

  test('an upstream that does not answer in time is a 504 with its code', async () => {
    const res = await post(gw.url, chat('silent', false));
    assert.equal(res.status, 504);
    assert.equal(JSON.parse(res.text).error.code, 'SLUICE_ERR_UPSTREAM_TIMEOUT');
  });

  test('an upstream that goes quiet mid-stream ends the stream with a timeout error event', async () => {
    const res = await post(gw.url, chat('quiet'));
    assert.equal(res.status, 200);
    const events = parseSseText(res.text);
    assert.equal(events[0]?.event, null);
    assert.equal(events.at(-1)?.event, 'error');
    assert.equal(JSON.parse(events.at(-1)!.data).error.code, 'SLUICE_ERR_UPSTREAM_TIMEOUT');
  });

  test('an upstream 429 keeps its status, message and Retry-After', async () => {
    const res = await post(gw.url, chat('limited', false));
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '7');
    const body = JSON.parse(res.text);
    assert.equal(body.error.code, 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.match(body.error.message, /Rate limit reached/);
    assert.deepEqual(body.error.upstream, { status: 429, code: 'rate_limit_exceeded', type: 'requests' });
  });
});

describe('a client that goes away', () => {
  test('cancels the upstream stream promptly', async () => {
    // At one token every 5 s the stream would run for about a minute: an abort seen in the
    // 20 s waitFor allows was the client's going away, however slow the machine.
    const mock = await startMockServer({ port: 0, options: { tokensPerSecond: 0.2 } });
    const gw = await startGateway({ providers: { up: { type: 'openai', baseUrl: mock.url } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] });
    try {
      const controller = new AbortController();
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chat('slow'),
        signal: controller.signal,
      });
      assert.equal(res.statusCode, 200);
      for await (const _ of res.body) break; // first bytes arrived: the stream is live
      assert.equal(mock.stats.streamsStarted, 1);
      controller.abort();
      await waitFor(() => mock.stats.streamsAborted === 1, 'the upstream stream to be cancelled');
      // The gateway records the request as abandoned by its client.
      const requestLine = () => gw.logs.map((l) => JSON.parse(l) as { msg: string; clientGone?: boolean }).find((l) => l.msg === 'request');
      await waitFor(() => requestLine() !== undefined, 'the request log line');
      assert.equal(requestLine()?.clientGone, true);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
