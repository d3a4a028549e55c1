import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from 'undici';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import type { MockOptions } from '../../src/mock/options.js';
import { waitFor } from '../helpers/wait.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** False when the connection ended before the response body was complete. */
  complete: boolean;
}

/**
 * POST over node:http, collecting every byte that arrived even when the server cuts the
 * connection (undici may discard buffered data when the body stream errors).
 * `abortAfterData` destroys the request on the first body bytes, like a client going away.
 */
function post(server: MockServer, path: string, body: unknown, abortAfterData = false): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
    req.on('response', (res) => {
      let text = '';
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, complete: res.complete });
      };
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (abortAfterData) req.destroy();
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.on('error', (err) => (abortAfterData ? undefined : reject(err)));
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

function events(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => e.replace(/^data: /, ''));
}

async function withServer(options: Partial<MockOptions>, fn: (s: MockServer) => Promise<void>): Promise<void> {
  const server = await startMockServer({ port: 0, options });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

const until = (cond: () => boolean): Promise<void> => waitFor(cond, 'the mock to reach the expected state');

const chatBody = { model: 'mock-1', messages: [{ role: 'user', content: 'hi there' }] };

describe('standalone mock server', () => {
  test('JSON chat completion, models, health, 404, invalid JSON', async () => {
    await withServer({}, async (s) => {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const r = await request(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody), headers: { 'content-type': 'application/json' } });
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /application\/json/);
      const json = (await r.body.json()) as { object: string; choices: { message: { content: string } }[] };
      assert.equal(json.object, 'chat.completion');
      assert.ok(json.choices[0]?.message.content);

      const models = await request(`${s.url}/models`);
      assert.equal(((await models.body.json()) as { data: { id: string }[] }).data[0]?.id, 'mock-1');
      const health = await request(`${s.url.replace(/\/v1$/, '')}/health`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();

      const nf = await request(`${s.url}/nope`, { method: 'POST', body: '{}' });
      assert.equal(nf.statusCode, 404);
      const nfBody = (await nf.body.json()) as { error: { type: string; param: null } };
      assert.equal(nfBody.error.type, 'invalid_request_error');

      const bad = await request(`${s.url}/embeddings`, { method: 'POST', body: '{not json' });
      assert.equal(bad.statusCode, 400);
      await bad.body.dump();

      const emb = await request(`${s.url}/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'e', input: ['a', 'b'] }) });
      assert.equal(((await emb.body.json()) as { data: unknown[] }).data.length, 2);
      assert.equal(s.stats.requests, 3);
    });
  });

  test('stream ends with [DONE] and reassembles to the JSON answer', async () => {
    await withServer({ tokensPerSecond: 2000 }, async (s) => {
      const full = (await (await request(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody) })).body.json()) as {
        choices: { message: { content: string } }[];
      };
      const r = await post(s, '/chat/completions', { ...chatBody, stream: true, stream_options: { include_usage: true } });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /text\/event-stream/);
      assert.ok(r.complete);
      const ev = events(r.text);
      assert.equal(ev.at(-1), '[DONE]');
      const chunks = ev.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[]; usage: unknown });
      assert.deepEqual(chunks.at(-1)?.choices, []);
      assert.ok(chunks.at(-1)?.usage);
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), full.choices[0]?.message.content);
      assert.equal(s.stats.streamsStarted, 1);
      assert.equal(s.stats.streamsAborted, 0);
    });
  });

  test('legacy completions stream', async () => {
    await withServer({}, async (s) => {
      const r = await post(s, '/completions', { model: 'mock-1', prompt: 'say', stream: true });
      const ev = events(r.text);
      assert.equal(ev.at(-1), '[DONE]');
      assert.equal((JSON.parse(ev[0] ?? '{}') as { object: string }).object, 'text_completion');
    });
  });

  test('dropAfterChunks cuts the connection after N chunks without [DONE]', async () => {
    await withServer({ dropAfterChunks: 3 }, async (s) => {
      const r = await post(s, '/chat/completions', { ...chatBody, stream: true });
      assert.equal(r.status, 200);
      assert.equal(r.complete, false);
      const ev = events(r.text);
      assert.equal(ev.length, 3);
      assert.ok(!r.text.includes('[DONE]'));
      assert.equal(s.stats.streamsAborted, 0);
    });
  });

  test('client abort is counted promptly', async () => {
    // 5 s per chunk: the stream would last about a minute, so an abort counted within the
    // wait's bound was noticed as it happened, however busy the machine.
    await withServer({ tokensPerSecond: 0.2 }, async (s) => {
      const r = await post(s, '/chat/completions', { ...chatBody, stream: true }, true);
      assert.equal(r.complete, false);
      await until(() => s.stats.streamsAborted === 1);
      assert.equal(s.stats.streamsStarted, 1);
    });
  });

  test('status fault with Retry-After, after the configured latency', async () => {
    await withServer({ status: 429, retryAfter: 7, latencyMs: 30 }, async (s) => {
      const t0 = Date.now();
      const r = await request(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody) });
      assert.ok(Date.now() - t0 >= 25);
      assert.equal(r.statusCode, 429);
      assert.equal(r.headers['retry-after'], '7');
      const body = (await r.body.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'rate_limit_exceeded');
      s.configure({ status: null });
      const ok = await request(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody) });
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();
    });
  });

  test('close() ends open streams', async () => {
    const s = await startMockServer({ options: { tokensPerSecond: 20 } });
    const pending = post(s, '/chat/completions', { ...chatBody, stream: true });
    await until(() => s.stats.streamsStarted === 1);
    await s.close();
    const r = await pending;
    assert.equal(r.complete, false);
  });
});
