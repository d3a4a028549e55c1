import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { Agent, request, type Dispatcher } from 'undici';
import { StreamSlots } from '../../src/surfaces/stream-limits.js';
import { startGateway } from '../helpers/gateway.js';
import { StreamingUpstream, until } from '../helpers/streaming-upstream.js';

const streamBody = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
const jsonBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

test('StreamSlots counts per address and in all, refuses over either, and frees on release', () => {
  const slots = new StreamSlots({ streams: 3, streamsPerIp: 2 });
  assert.equal(slots.acquire('a'), null);
  assert.equal(slots.acquire('a'), null);
  assert.equal(slots.acquire('a')?.code, 'SLUICE_ERR_TOO_MANY_STREAMS');
  assert.equal(slots.acquire('b'), null);
  assert.equal(slots.acquire('c')?.code, 'SLUICE_ERR_STREAM_CAPACITY');
  assert.equal(slots.open, 3);
  slots.release('a');
  assert.equal(slots.acquire('c'), null);
  assert.equal(slots.acquire('a')?.code, 'SLUICE_ERR_STREAM_CAPACITY');
  assert.throws(() => new StreamSlots({ streams: 0, streamsPerIp: 1 }));
});

test('issue 15: streams over the per-address or the gateway-wide limit are refused with a code; under them, and answers read whole, are served', async () => {
  const up = await new StreamingUpstream('hold').start();
  const gw = await startGateway({ server: { maxStreams: 3, maxStreamsPerIp: 2 }, providers: { up: { type: 'openai', baseUrl: up.url } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] });
  const agents = new Map<string, Agent>();
  const from = (address: string): Dispatcher => {
    let agent = agents.get(address);
    if (agent === undefined) agents.set(address, (agent = new Agent({ localAddress: address })));
    return agent;
  };
  const post = (address: string, body: string): Promise<Dispatcher.ResponseData> =>
    request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: from(address) });
  const refusal = async (res: Dispatcher.ResponseData): Promise<string> => ((await res.body.json()) as { error: { code: string } }).error.code;
  const held: Dispatcher.ResponseData[] = [];
  try {
    held.push(await post('127.0.0.1', streamBody), await post('127.0.0.1', streamBody));
    assert.deepEqual(held.map((r) => r.statusCode), [200, 200]);

    const third = await post('127.0.0.1', streamBody);
    assert.equal(third.statusCode, 429);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal(await refusal(third), 'SLUICE_ERR_TOO_MANY_STREAMS');
    // The official client raises its rate-limit error with the code.
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(sdk.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'SLUICE_ERR_TOO_MANY_STREAMS');

    // Another address has its own allowance, up to the gateway's.
    const other = await post('127.0.0.2', streamBody);
    assert.equal(other.statusCode, 200);
    held.push(other);
    const full = await post('127.0.0.3', streamBody);
    assert.equal(full.statusCode, 503);
    assert.equal(await refusal(full), 'SLUICE_ERR_STREAM_CAPACITY');
    // Answers read whole are not streams: served while the streams are at their limit.
    const whole = await post('127.0.0.3', jsonBody);
    assert.equal(whole.statusCode, 200);
    await whole.body.dump();

    // A stream that ends gives its slot back.
    held.shift()!.body.destroy();
    await until(() => gw.gateway.streams.open === 2, 15_000, 'the closed stream to be released');
    const again = await post('127.0.0.3', streamBody);
    assert.equal(again.statusCode, 200);
    held.push(again);
    assert.equal(up.opened, 4, 'a refused stream never reached the upstream');
  } finally {
    for (const r of held) r.body.destroy();
    await gw.close();
    await up.stop();
    await Promise.all([...agents.values()].map((a) => a.destroy()));
  }
});
