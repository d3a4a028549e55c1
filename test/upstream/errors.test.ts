import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { SluiceError } from '../../src/errors.js';
import { Redactor } from '../../src/lib/redactor.js';
import { redactError } from '../../src/upstream/errors.js';
import { parseSseText, startGateway, type TestGateway } from '../helpers/gateway.js';

const OPENAI_KEY = 'prov-openai-Q7w2E9r4T1y6U3i8';
const ANTHROPIC_KEY = 'sk-ant-api03-provider-key-Z9x8C7v6B5n4M3';
/** A key the config does not know (another of the operator's keys): caught by its shape. */
const OTHER_KEY = 'sk-proj-unrelated0123456789abcdef';
const CLIENT_KEY = 'sluice-client-key-4f3e2d1c0b9a';
const SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, OTHER_KEY, CLIENT_KEY];

/**
 * A provider that echoes the credential it received, as OpenAI's "Incorrect API key provided"
 * and Anthropic's "invalid x-api-key" do: 401 for non-stream requests; for stream requests one
 * good chunk and then an error event carrying the key.
 */
function startEchoUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const stream = (JSON.parse(body) as { stream?: boolean }).stream === true;
      if (req.url === '/v1/chat/completions') {
        const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
        const message = `Incorrect API key provided: ${key}. Also tried ${OTHER_KEY}. Authorization: Bearer ${key}`;
        if (!stream) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        res.end(`data: ${JSON.stringify({ error: { message, type: 'server_error', code: key } })}\n\n`);
        return;
      }
      const key = String(req.headers['x-api-key'] ?? '');
      const error = { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${key} (also ${OTHER_KEY})` } };
      if (!stream) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(error));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events: [string, unknown][] = [
        ['message_start', { type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude', content: [], usage: { input_tokens: 3, output_tokens: 0 } } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }],
        ['error', { ...error, error: { type: 'overloaded_error', message: error.error.message } }],
      ];
      res.end(events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join(''));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

function assertClean(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} contains a credential: ${text}`);
}

/** Waits for pino's asynchronous writes to reach the capturing sink. */
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('credentials an upstream echoes never reach the client or the log (issue 15)', () => {
  let upstream: { url: string; close: () => Promise<void> };
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;
  before(async () => {
    upstream = await startEchoUpstream();
    gw = await startGateway(
      {
        logging: { level: 'trace' },
        keys: [{ name: 'client', key: '${CLIENT_KEY}' }],
        providers: {
          oa: { type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: '${OPENAI_KEY}' },
          an: { type: 'anthropic', baseUrl: `${upstream.url}/v1`, apiKey: '${ANTHROPIC_KEY}' },
        },
        routes: [
          { match: 'gpt-*', targets: [{ provider: 'oa' }] },
          { match: 'claude-*', targets: [{ provider: 'an' }] },
        ],
      },
      { OPENAI_KEY, ANTHROPIC_KEY, CLIENT_KEY },
    );
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: CLIENT_KEY, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  for (const model of ['gpt-4o', 'claude-sonnet']) {
    test(`regression: openai SDK, ${model}: the 401 keeps its status, loses the key`, async () => {
      const err = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.match(err.message, /\[redacted\]/);
      assertClean(JSON.stringify(err.error) + err.message, 'the openai SDK error');
    });

    test(`regression: Anthropic SDK on /v1/messages, ${model}: the 401 loses the key`, async () => {
      const err = await anthropic.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
      assertClean(JSON.stringify(err.error) + err.message, 'the Anthropic SDK error');
    });

    test(`regression: stream error events, ${model}, both surfaces: no key`, async () => {
      const chat = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const chatText = await chat.body.text();
      const events = parseSseText(chatText);
      assert.ok(events.some((e) => e.event === 'error'), chatText);
      assert.match(chatText, /\[redacted\]/);
      assertClean(chatText, 'the OpenAI-shaped stream');
      const messages = await request(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, stream: true, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const messagesText = await messages.body.text();
      assert.ok(parseSseText(messagesText).some((e) => e.event === 'error'), messagesText);
      assertClean(messagesText, 'the Anthropic-shaped stream');
    });
  }

  test('no captured log line holds a credential (a guard; the logger hook itself is tested in test/observability/logger.test.ts)', async () => {
    await flush();
    assert.ok(gw.logs.length > 0);
    for (const line of gw.logs) assertClean(line, 'a log line');
  });
});

describe('redactError', () => {
  const redactor = new Redactor(['configured-secret-value']);

  test('scrubs message, upstream code and type; keeps code, status and headers', () => {
    const e = new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', {
      status: 401,
      message: 'Upstream 401: bad key configured-secret-value',
      headers: { 'retry-after': '3' },
      upstream: { status: 401, code: 'configured-secret-value', type: 'auth' },
    });
    const r = redactError(e, redactor);
    assert.equal(r.message, 'Upstream 401: bad key [redacted]');
    assert.equal(r.status, 401);
    assert.equal(r.code, 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.deepEqual(r.headers, { 'retry-after': '3' });
    assert.deepEqual(r.upstream, { status: 401, code: '[redacted]', type: 'auth' });
  });

  test('an error without credentials is returned as it is (no allocation)', () => {
    const e = new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT');
    assert.equal(redactError(e, redactor), e);
  });
});
