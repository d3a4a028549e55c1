import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { Writable } from 'node:stream';
import { Secret } from '../../src/lib/secret.js';
import { createLogger } from '../../src/observability/logger.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { flushLogs } from '../helpers/wait.js';
import { startGateway, seededRandom, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const CLIENT_KEY = 'sk-client-secret-a1b2c3d4e5f6a7b8';
const WRONG_KEY = 'sk-guessed-secret-0f9e8d7c6b5a4f3e';
const ADMIN_TOKEN = 'admin-secret-5e4d3c2b1a0f9e8d';
const UPSTREAM_KEY = 'sk-upstream-secret-9a8b7c6d5e4f3a2b';
const ANTHROPIC_KEY = 'sk-ant-secret-1029384756abcdef';
const DOWN_KEY = 'sk-down-secret-6f5e4d3c2b1a0987';

const call = (url: string, path: string, headers: Record<string, string>, body?: unknown): Promise<req.Reply> => req.send(url, path, { body, headers: { 'content-type': 'application/json', ...headers } });

const hello = (model: string): Record<string, unknown> => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] });

/** Waits for pino's asynchronous writes to reach the gateway's capturing sink. */
const flush = (gw: TestGateway): Promise<void> => flushLogs(gw.gateway.app.log, () => gw.logs);

describe('credentials never reach the log, at the most verbose level', () => {
  let upstream: MockServer;
  let gw: TestGateway;
  let created = '';
  before(async () => {
    upstream = await startMockServer();
    gw = await startGateway(
      {
        logging: { level: 'trace' },
        auth: { required: true },
        admin: { tokens: ['${ADMIN_TOKEN}'] },
        database: { embedded: 'memory' },
        keys: [{ name: 'client', key: '${CLIENT_KEY}' }],
        providers: {
          up: { type: 'openai', baseUrl: upstream.url, apiKey: '${UPSTREAM_KEY}' },
          claude: { type: 'anthropic', baseUrl: upstream.url, apiKey: '${ANTHROPIC_KEY}' },
          down: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: '${DOWN_KEY}' },
        },
        routes: [
          { match: 'gpt-*', targets: [{ provider: 'up' }] },
          { match: 'claude-*', targets: [{ provider: 'claude' }] },
          { match: 'broken-*', targets: [{ provider: 'down' }] },
        ],
      },
      { ADMIN_TOKEN, CLIENT_KEY, UPSTREAM_KEY, ANTHROPIC_KEY, DOWN_KEY },
    );
    const bearer = { authorization: `Bearer ${CLIENT_KEY}` };
    assert.equal((await call(gw.url, '/v1/chat/completions', bearer, hello('gpt-4o'))).status, 200);
    assert.equal((await call(gw.url, '/v1/chat/completions', bearer, { ...hello('gpt-4o'), stream: true })).status, 200);
    assert.equal((await call(gw.url, '/v1/messages', { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' }, hello('claude-sonnet-4'))).status, 200);
    assert.equal((await call(gw.url, '/v1/chat/completions', bearer, hello('broken-1'))).status, 502);
    assert.equal((await call(gw.url, '/v1/chat/completions', { authorization: `Bearer ${WRONG_KEY}` }, hello('gpt-4o'))).status, 401);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const made = await call(gw.url, '/admin/keys', admin, { name: 'made-by-admin' });
    assert.equal(made.status, 201, made.text);
    created = (JSON.parse(made.text) as { key: string }).key;
    assert.equal((await call(gw.url, '/admin/keys', admin)).status, 200);
    assert.equal((await call(gw.url, '/v1/chat/completions', { authorization: `Bearer ${created}` }, hello('gpt-4o'))).status, 200);
    await flush(gw);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  test('the requests were logged (the check below reads real output)', () => {
    const lines = gw.logs.map((l) => JSON.parse(l) as { msg?: string; status?: number });
    // Five reached a route (the 401 is refused before routing and counted only in metrics).
    assert.deepEqual(lines.filter((l) => l.msg === 'request').map((l) => l.status), [200, 200, 200, 502, 200]);
  });

  test('no client key, admin token, generated key or provider key appears in any line', () => {
    const all = gw.logs.join('\n');
    for (const [name, secret] of Object.entries({ CLIENT_KEY, WRONG_KEY, ADMIN_TOKEN, UPSTREAM_KEY, ANTHROPIC_KEY, DOWN_KEY, created })) {
      assert.ok(secret.length > 10, name);
      assert.ok(!all.includes(secret), `${name} leaked into the log`);
    }
  });
});

test('credential fields are redacted by name wherever a headers object is logged', async () => {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger('info', sink);
  const headers = (n: number): Record<string, string> => ({
    authorization: `Bearer secret-${n}-auth`,
    'proxy-authorization': `Basic secret-${n}-proxy`,
    'x-api-key': `secret-${n}-xkey`,
    'api-key': `secret-${n}-azure`,
    'x-goog-api-key': `secret-${n}-gemini`,
    cookie: `session=secret-${n}-cookie`,
    'user-agent': 'kept',
  });
  // Config secrets are redacted by type (Secret), wherever they sit.
  logger.info({ req: { headers: headers(1) }, headers: headers(2), apiKey: 'secret-3', api_key: 'secret-4', provider: { apiKey: new Secret('secret-5') } }, 'dump');
  await flushLogs(logger, () => out);
  const line = out.join('');
  assert.ok(line.includes('"msg":"dump"') && line.includes('kept'), line);
  assert.ok(!line.includes('secret-'), line);
  assert.equal(line.match(/\[redacted\]/g)?.length, 2 * 6 + 3);
});

describe('logging.sampleRate: successes are sampled, failures always logged', () => {
  const requestLines = (gw: TestGateway): { status: number }[] =>
    gw.logs.map((l) => JSON.parse(l) as { msg?: string; status: number }).filter((l) => l.msg === 'request');

  test('at 0 only failures are logged, and metrics still count everything', async () => {
    const gw = await startGateway({ logging: { sampleRate: 0 }, providers: { up: { type: 'mock' }, bad: { type: 'mock', status: 503 } }, routes: [{ match: 'ok-*', targets: [{ provider: 'up' }] }, { match: 'bad-*', targets: [{ provider: 'bad' }] }] });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await call(gw.url, '/v1/chat/completions', {}, hello('ok-1'))).status, 200);
      assert.equal((await call(gw.url, '/v1/chat/completions', {}, hello('bad-1'))).status, 503);
      await flush(gw);
      assert.deepEqual(requestLines(gw).map((l) => l.status), [503]);
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      assert.match(metrics, /sluice_requests_total\{[^}]*route="ok-\*"[^}]*status="200"[^}]*\} 5/);
    } finally {
      await gw.close();
    }
  });

  test('at 0.25 about a quarter of successes are logged (seeded draw)', async () => {
    const gw = await startGateway({ logging: { sampleRate: 0.25 } }, {}, { random: seededRandom(7) });
    try {
      for (let i = 0; i < 80; i++) assert.equal((await call(gw.url, '/v1/chat/completions', {}, hello('mock-1'))).status, 200);
      await flush(gw);
      const logged = requestLines(gw).length;
      assert.ok(logged >= 8 && logged <= 32, `${logged} of 80 logged`);
    } finally {
      await gw.close();
    }
  });
});
