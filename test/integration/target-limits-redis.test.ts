import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { metricValue } from '../helpers/wait.js';

// Issue 22 (seed 001): a target's provider limits hold across instances, and a request over
// them degrades (queue, then the cheaper model) instead of failing.

describe("targets' provider limits are counted across instances sharing Redis", () => {
  let redis: RedisServer;
  let primary: Backend;
  const gateways: TestGateway[] = [];
  before(async () => {
    redis = await startRedis();
    primary = await new Backend('gpt-4o', (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'from gpt-4o' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }));
    }).start();
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await primary.stop();
    await redis.stop();
  });

  test('a daily limit of 10 over two instances: 10 upstream calls in all (target limits were per instance before), the other 20 answered by the fallback model', async () => {
    const config = {
      state: { redis: redis.url, prefix: 'tl:' },
      providers: { openai: { type: 'openai', baseUrl: `${primary.url}/v1`, apiKey: 'sk-primary-key-0123456789' }, cheap: { type: 'mock' } },
      routes: [
        // Per day: no refill while the test runs, however slow the machine.
        { match: 'gpt-4o', targets: [{ provider: 'openai', limits: { rpd: 10 } }], fallback: ['gpt-4o-mini'], queue: { timeout: '50ms' } },
        { match: 'gpt-4o-mini', targets: [{ provider: 'cheap' }] },
      ],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    gateways.push(a, b);
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => req.chatJson<{ choices: { message: { content: string } }[] }>(i % 2 === 0 ? a : b, req.chatBody('gpt-4o', `q${i}`))));
    assert.deepEqual([...new Set(replies.map((r) => r.status))], [200], 'never a bare error');
    assert.equal(primary.hits, 10, 'the provider saw exactly its daily limit');
    assert.equal(replies.filter((r) => r.json.choices[0]!.message.content === 'from gpt-4o').length, 10);
    const fallbacks = await Promise.all([a, b].map(async (g) => metricValue((await req.send(g, '/metrics')).text, 'sluice_fallbacks_total', 'route="gpt-4o",fallback="gpt-4o-mini"') ?? 0));
    assert.equal(fallbacks[0]! + fallbacks[1]!, 20, 'the other 20 were answered by the cheaper model');
  });

  test('without a fallback, a request over the limits waits in the queue up to its timeout, then 503 with Retry-After', async () => {
    const g = await startGateway({
      state: { redis: redis.url, prefix: 'tl2:' },
      providers: { openai: { type: 'openai', baseUrl: `${primary.url}/v1`, apiKey: 'sk-primary-key-0123456789' } },
      routes: [{ match: 'gpt-4o', targets: [{ provider: 'openai', limits: { rpd: 1 } }], queue: { timeout: '50ms' } }],
    });
    gateways.push(g);
    assert.equal((await req.chat(g, req.chatBody('gpt-4o', 'one'))).status, 200);
    const over = await req.chatJson(g, req.chatBody('gpt-4o', 'two'));
    assert.equal(over.status, 503);
    assert.equal(over.json.error?.code, 'SLUICE_ERR_QUEUE_TIMEOUT');
    assert.match(String(over.json.error?.message), /provider limits/);
    assert.ok(Number(over.headers['retry-after']) > 3600, 'a daily limit: retry much later');
  });
});
