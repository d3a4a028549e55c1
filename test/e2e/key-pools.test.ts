/**
 * Provider key pools and quota-aware routing (issue 21) through the gateway, with the official
 * `openai` SDK as the client and OpenAI-shaped upstreams on port 0 that answer per API key.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { FakeClock } from '../../src/lib/clock.js';
import { keyId } from '../../src/providers/keys/pool.js';
import { Secret } from '../../src/lib/secret.js';
import { Backend } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { metricValue } from '../helpers/wait.js';
import * as req from '../helpers/requests.js';

const KEYS = ['sk-pool-key-aaaaaaaaaaaa', 'sk-pool-key-bbbbbbbbbbbb', 'sk-pool-key-cccccccccccc'];
const idOf = (key: string): string => keyId(new Secret(key));

/** What the upstream answers to a key: a status and extra headers (200 when absent). */
type Behaviour = (key: string) => { status: number; headers?: Record<string, string> };

function completion(name: string): string {
  return JSON.stringify({
    id: 'chatcmpl-pool',
    object: 'chat.completion',
    created: 1,
    model: name,
    choices: [{ index: 0, message: { role: 'assistant', content: `from ${name}` }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
}

/** An OpenAI-shaped upstream answering by the bearer key it is sent. */
function keyedUpstream(name: string, behaviour: { current: Behaviour }): Backend {
  return new Backend(name, (req: IncomingMessage, res: ServerResponse, body: string) => {
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const { status, headers = {} } = behaviour.current(key);
    if (status === 200 && (JSON.parse(body) as { stream?: boolean }).stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', ...headers });
      const chunk = (delta: object, finish: string | null): string =>
        `data: ${JSON.stringify({ id: 'chatcmpl-pool', object: 'chat.completion.chunk', created: 1, model: name, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
      res.end(`${chunk({ role: 'assistant', content: `streamed from ${name}` }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(status === 200 ? completion(name) : JSON.stringify({ error: { message: `refused with ${status}`, type: 'rate_limit_error', code: null } }));
  });
}

const keysSeen = (b: Backend): string[] => b.seen.map((r) => String(r.headers.authorization ?? '').replace(/^Bearer /, ''));
const count = (list: string[], key: string): number => list.filter((k) => k === key).length;

describe('provider key pools', () => {
  const behaviour: { current: Behaviour } = { current: () => ({ status: 200 }) };
  let up: Backend;
  before(async () => {
    up = await keyedUpstream('pooled', behaviour).start();
  });
  after(async () => {
    await up.stop();
  });

  async function withGateway(fn: (gw: TestGateway, sdk: OpenAI) => Promise<void>, clock?: FakeClock): Promise<void> {
    up.seen.length = 0;
    const gw = await startGateway(
      { providers: { pooled: { type: 'openai', baseUrl: `${up.url}/v1`, apiKey: KEYS } }, routes: [{ match: 'm', retry: { attempts: 0 }, targets: [{ provider: 'pooled' }] }] },
      {},
      clock === undefined ? {} : { clock },
    );
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    try {
      await fn(gw, sdk);
    } finally {
      await gw.close();
    }
  }

  test('requests spread over the keys, round robin', async () => {
    behaviour.current = () => ({ status: 200 });
    await withGateway(async (gw, sdk) => {
      for (let i = 0; i < 30; i++) await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      const seen = keysSeen(up);
      assert.deepEqual(
        KEYS.map((k) => count(seen, k)),
        [10, 10, 10],
      );
      const metrics = (await req.send(gw, '/metrics')).text;
      for (const k of KEYS) assert.equal(metricValue(metrics, 'sluice_provider_key_requests_total', `provider="pooled",key_id="${idOf(k)}"`), 10);
    });
  });

  test('a key answered 429 with retry-after rests while the others serve; no client sees the 429', async () => {
    const [resting, ...others] = KEYS as [string, string, string];
    behaviour.current = (key) => (key === resting ? { status: 429, headers: { 'retry-after': '60' } } : { status: 200 });
    await withGateway(async (gw, sdk) => {
      for (let i = 0; i < 20; i++) {
        const res = await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(res.choices[0]!.message.content, 'from pooled');
      }
      const seen = keysSeen(up);
      assert.equal(count(seen, resting), 1, 'the resting key is not called again within its minute');
      assert.equal(count(seen, others[0]) + count(seen, others[1]), 20);
      const metrics = (await req.send(gw, '/metrics')).text;
      assert.equal(metricValue(metrics, 'sluice_provider_key_rests_total', `provider="pooled",key_id="${idOf(resting)}"`), 1);
      assert.equal(metricValue(metrics, 'sluice_provider_key_state', `provider="pooled",key_id="${idOf(resting)}"`), 1);
      assert.equal(metricValue(metrics, 'sluice_provider_key_state', `provider="pooled",key_id="${idOf(others[0])}"`), 0);
      // The 429 was the key's: the target's breaker and the request counters saw only successes.
      assert.equal(metricValue(metrics, 'sluice_requests_total', 'endpoint="chat",route="m",provider="pooled",model="m",status="200",code=""'), 20);
    });
  });

  test('a key answered 401 is taken out, logged once at error level by its id, and its request served by another key', async () => {
    const revoked = KEYS[1]!;
    behaviour.current = (key) => (key === revoked ? { status: 401 } : { status: 200 });
    await withGateway(async (gw, sdk) => {
      for (let i = 0; i < 12; i++) await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(count(keysSeen(up), revoked), 1);
      const metrics = (await req.send(gw, '/metrics')).text;
      assert.equal(metricValue(metrics, 'sluice_provider_key_removals_total', `provider="pooled",key_id="${idOf(revoked)}"`), 1);
      assert.equal(metricValue(metrics, 'sluice_provider_key_state', `provider="pooled",key_id="${idOf(revoked)}"`), 2);
      const lines = gw.logs.filter((l) => l.includes('taken out of its pool'));
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0]!) as { level: number; key: string; provider: string; status: number };
      assert.deepEqual([line.level, line.key, line.provider, line.status], [50, idOf(revoked), 'pooled', 401]);
      for (const k of KEYS) {
        assert.equal(gw.logs.join('\n').includes(k), false, 'no key in the logs');
        assert.equal(metrics.includes(k), false, 'no key in the metrics');
      }
    });
  });

  test('streams: a key answered 429 or 401 before the stream starts hands the call to another key', async () => {
    const [limited, revoked, good] = KEYS as [string, string, string];
    behaviour.current = (key) => (key === limited ? { status: 429, headers: { 'retry-after-ms': '60000' } } : key === revoked ? { status: 401 } : { status: 200 });
    await withGateway(async (_gw, sdk) => {
      for (let i = 0; i < 3; i++) {
        let text = '';
        for await (const c of await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += c.choices[0]?.delta.content ?? '';
        assert.equal(text, 'streamed from pooled');
      }
      assert.deepEqual(keysSeen(up), [limited, revoked, good, good, good]);
    });
  });

  test('every key given as ${ENV} reaches the upstream', async () => {
    behaviour.current = () => ({ status: 200 });
    up.seen.length = 0;
    const gw = await startGateway(
      { providers: { pooled: { type: 'openai', baseUrl: `${up.url}/v1`, apiKey: ['${KEY_ONE}', '${KEY_TWO}'] } }, routes: [{ match: 'm', targets: [{ provider: 'pooled' }] }] },
      { KEY_ONE: KEYS[0], KEY_TWO: KEYS[2] },
    );
    try {
      for (let i = 0; i < 4; i++) assert.equal((await req.chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
      assert.deepEqual(keysSeen(up), [KEYS[0], KEYS[2], KEYS[0], KEYS[2]]);
    } finally {
      await gw.close();
    }
  });
});

describe('quota-aware routing', () => {
  const first: { current: Behaviour } = { current: () => ({ status: 200 }) };
  const second: { current: Behaviour } = { current: () => ({ status: 200 }) };
  let a: Backend;
  let b: Backend;
  before(async () => {
    [a, b] = await Promise.all([keyedUpstream('a', first).start(), keyedUpstream('b', second).start()]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  test('an upstream announcing 0 requests left is not called until its reset: traffic fails over, then comes back', async () => {
    const clock = new FakeClock();
    a.seen.length = 0;
    b.seen.length = 0;
    first.current = () => ({ status: 200, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '10s', 'x-ratelimit-remaining-tokens': '90000' } });
    const gw = await startGateway(
      {
        providers: { a: { type: 'openai', baseUrl: `${a.url}/v1`, apiKey: 'sk-quota-aaaaaaaa' }, b: { type: 'openai', baseUrl: `${b.url}/v1`, apiKey: 'sk-quota-bbbbbbbb' } },
        routes: [
          { match: 'm', strategy: 'failover', retry: { attempts: 0 }, targets: [{ provider: 'a' }, { provider: 'b' }] },
          { match: 'only-a', retry: { attempts: 0 }, targets: [{ provider: 'a' }] },
        ],
      },
      {},
      { clock },
    );
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const ask = async (model: string) => (await sdk.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).model;
    try {
      assert.equal(await ask('m'), 'a', 'a answers, and says it has no request left for 10 s');
      for (let i = 0; i < 5; i++) assert.equal(await ask('m'), 'b');
      assert.equal(a.seen.length, 1, 'a is not called while it has no quota: no 429 needed');
      // With no other target, the request is answered as for a breaker-open target.
      const refused = await req.chat(gw, { model: 'only-a', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(refused.status, 503);
      assert.equal(req.looseJson<{ error: { code: string } }>(refused.text).error.code, 'SLUICE_ERR_NO_HEALTHY_TARGET');
      assert.equal(refused.headers['retry-after'], '10');
      assert.equal(a.seen.length, 1);
      clock.advance(10_000);
      first.current = () => ({ status: 200 });
      assert.equal(await ask('m'), 'a', 'back after the reset');
      assert.equal(a.seen.length, 2);
    } finally {
      await gw.close();
    }
  });

  test("Anthropic's reset times rest the key until then", async () => {
    const clock = new FakeClock();
    a.seen.length = 0;
    const resetAt = new Date(clock.now() + 30_000).toISOString();
    first.current = () => ({ status: 200, headers: { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': resetAt } });
    const gw = await startGateway({ providers: { a: { type: 'openai', baseUrl: `${a.url}/v1`, apiKey: 'sk-quota-aaaaaaaa' } }, routes: [{ match: 'm', retry: { attempts: 0 }, targets: [{ provider: 'a' }] }] }, {}, { clock });
    try {
      assert.equal((await req.chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
      const refused = await req.chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '30');
      clock.advance(30_000);
      assert.equal((await req.chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
      assert.equal(a.seen.length, 2);
    } finally {
      await gw.close();
    }
  });
});
