import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeClock } from '../../../src/lib/clock.js';
import { anthropicProviderSchema, compileAnthropicProvider } from '../../../src/providers/anthropic/config.js';
import { anthropicStatusError } from '../../../src/providers/anthropic/errors.js';
import { UpstreamClient } from '../../../src/providers/http/client.js';
import type { KeyEvent } from '../../../src/providers/keys/pool.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { Backend } from '../../helpers/backends.js';
import { call } from '../helpers.js';

/** The translating adapters' client (Anthropic, Gemini) with a key pool (issue 21). */
describe('UpstreamClient key pool', () => {
  let statusFor: (key: string) => number = () => 200;
  let up: Backend;
  let pools: UpstreamPools;
  before(async () => {
    up = await new Backend('anthropic', (req, res) => {
      const status = statusFor(String(req.headers['x-api-key']));
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '30' } : {}) });
      res.end(status === 200 ? '{"ok":true}' : '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}');
    }).start();
    pools = new UpstreamPools();
  });
  after(async () => {
    await pools.close();
    await up.stop();
  });

  function client(keys: string[], events: KeyEvent[] = []): UpstreamClient {
    const config = compileAnthropicProvider('claude', anthropicProviderSchema.parse({ type: 'anthropic', baseUrl: `${up.url}/v1`, apiKey: keys }));
    return new UpstreamClient(config, pools, anthropicStatusError, (k): Record<string, string> => (k === null ? {} : { 'x-api-key': k }), { clock: new FakeClock(), onKeyEvent: (e) => events.push(e) });
  }
  const keysSeen = (): string[] => up.seen.map((r) => String(r.headers['x-api-key']));

  test('each call carries one key of the pool, round robin', async () => {
    up.seen.length = 0;
    statusFor = () => 200;
    const c = client(['sk-ant-k1', 'sk-ant-k2']);
    for (let i = 0; i < 4; i++) (await c.post(call({ body: {} }), '/messages', {}, '{}')).body.resume();
    assert.deepEqual(keysSeen(), ['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k1', 'sk-ant-k2']);
  });

  test('a 429 or 401 on one key is sent again on another; the caller sees the success', async () => {
    up.seen.length = 0;
    statusFor = (k) => (k === 'sk-ant-k1' ? 429 : k === 'sk-ant-k2' ? 401 : 200);
    const events: KeyEvent[] = [];
    const c = client(['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k3'], events);
    const res = await c.post(call({ body: {} }), '/messages', {}, '{}');
    assert.equal(res.statusCode, 200);
    res.body.resume();
    assert.deepEqual(keysSeen(), ['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k3']);
    assert.deepEqual(
      events.map((e) => [e.kind, e.status]),
      [
        ['rested', 429],
        ['removed', 401],
      ],
    );
    (await c.post(call({ body: {} }), '/messages', {}, '{}')).body.resume();
    assert.equal(keysSeen()[3], 'sk-ant-k3', 'the resting and the removed key are skipped');
  });

  test('when no other key can take it, the error reaches the caller as the provider sent it', async () => {
    up.seen.length = 0;
    statusFor = () => 429;
    const c = client(['sk-ant-k1', 'sk-ant-k2']);
    await assert.rejects(c.post(call({ body: {} }), '/messages', {}, '{}'), (err: Error & { status?: number }) => err.status === 429);
    assert.equal(up.seen.length, 2, 'each key tried once, no more');
  });
});
