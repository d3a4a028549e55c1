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
  /** Each request's headers as sent (names and values in order). */
  const raw: string[][] = [];
  before(async () => {
    up = await new Backend('anthropic', (req, res) => {
      raw.push(req.rawHeaders);
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

  function client(keys: string[], events: KeyEvent[] = [], headers: Record<string, string> = {}, fixed: Record<string, string> = {}): UpstreamClient {
    const config = compileAnthropicProvider('claude', anthropicProviderSchema.parse({ type: 'anthropic', baseUrl: `${up.url}/v1`, apiKey: keys, headers }));
    return new UpstreamClient(config, pools, anthropicStatusError, (k): Record<string, string> => (k === null ? {} : { 'x-api-key': k }), { clock: new FakeClock(), onKeyEvent: (e) => events.push(e) }, fixed);
  }
  const keysSeen = (): string[] => up.seen.map((r) => String(r.headers['x-api-key']));

  // A call answered whole (postText) and one read as a stream (post) take keys alike.
  for (const mode of ['postText', 'post'] as const) {
    /** Sends one call; resolves with its status once the answer is read. */
    const send = async (c: UpstreamClient, headers: Record<string, string> | null = {}): Promise<number> => {
      if (mode === 'postText') return (await c.postText(call({ body: {} }), '/messages', headers, '{}')).status;
      const res = await c.post(call({ body: {} }), '/messages', headers, '{}');
      await res.body.dump();
      return res.statusCode;
    };
    describe(mode, () => {
      test('each call carries one key of the pool, round robin', async () => {
        up.seen.length = 0;
        statusFor = () => 200;
        const c = client(['sk-ant-k1', 'sk-ant-k2']);
        for (let i = 0; i < 4; i++) await send(c);
        assert.deepEqual(keysSeen(), ['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k1', 'sk-ant-k2']);
      });

      test('a 429 or 401 on one key is sent again on another; the caller sees the success', async () => {
        up.seen.length = 0;
        statusFor = (k) => (k === 'sk-ant-k1' ? 429 : k === 'sk-ant-k2' ? 401 : 200);
        const events: KeyEvent[] = [];
        const c = client(['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k3'], events);
        assert.equal(await send(c), 200);
        assert.deepEqual(keysSeen(), ['sk-ant-k1', 'sk-ant-k2', 'sk-ant-k3']);
        assert.deepEqual(
          events.map((e) => [e.kind, e.status]),
          [
            ['rested', 429],
            ['removed', 401],
          ],
        );
        await send(c);
        assert.equal(keysSeen()[3], 'sk-ant-k3', 'the resting and the removed key are skipped');
      });

      test('when no other key can take it, the error reaches the caller as the provider sent it', async () => {
        up.seen.length = 0;
        statusFor = () => 429;
        const c = client(['sk-ant-k1', 'sk-ant-k2']);
        await assert.rejects(send(c), (err: Error & { status?: number }) => err.status === 429);
        assert.equal(up.seen.length, 2, 'each key tried once, no more');
      });

      test("the request carries the provider headers, the adapter's, the key, the content type, accept and the request id, each once", async () => {
        raw.length = 0;
        statusFor = () => 200;
        // Configured headers give way to the adapter's, the key's, and the call's own accept and id.
        const configured = { 'x-team': 'blue', 'anthropic-version': 'configured', 'x-api-key': 'configured', accept: 'text/plain', 'x-request-id': 'configured' };
        const c = client(['sk-ant-k1'], [], configured, { 'anthropic-version': '2023-06-01' });
        await send(c, null);
        await send(c, { 'anthropic-version': 'per-call', 'anthropic-beta': 'b1' });
        const all = (i: number, name: string): string[] => {
          const out: string[] = [];
          for (let j = 0; j < raw[i]!.length; j += 2) if (raw[i]![j]!.toLowerCase() === name) out.push(raw[i]![j + 1]!);
          return out;
        };
        for (const i of [0, 1]) {
          assert.deepEqual(all(i, 'x-team'), ['blue']);
          assert.deepEqual(all(i, 'x-api-key'), ['sk-ant-k1']);
          assert.deepEqual(all(i, 'content-type'), ['application/json']);
          assert.deepEqual(all(i, 'accept'), ['application/json']);
          assert.deepEqual(all(i, 'x-request-id'), ['req-test']);
        }
        assert.deepEqual(all(0, 'anthropic-version'), ['2023-06-01'], "the adapter's fixed headers when the call gives none");
        assert.deepEqual(all(1, 'anthropic-version'), ['per-call'], "the call's own headers instead of the fixed ones");
        assert.deepEqual(all(1, 'anthropic-beta'), ['b1']);
      });
    });
  }
});
