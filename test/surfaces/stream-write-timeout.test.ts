import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { FakeClock } from '../../src/lib/clock.js';
import { startGateway } from '../helpers/gateway.js';
import { StreamingUpstream, until } from '../helpers/streaming-upstream.js';

const streamBody = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
const jsonBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

/** Rejects when `p` takes longer than `ms`: a generous bound that only a stuck request hits. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

test('issue 15: streaming clients that stop reading do not hold up other requests to the provider, and are cut off after the write timeout', async () => {
  const up = await new StreamingUpstream('flood').start();
  const clock = new FakeClock();
  const gw = await startGateway(
    {
      server: { streamWriteTimeout: '5s' },
      // Pools of 2 stand in for the default 128: more clients than connections, few sockets.
      providers: { up: { type: 'openai', baseUrl: up.url, connections: 2, streamConnections: 2 } },
      routes: [{ match: '*', targets: [{ provider: 'up' }] }],
    },
    {},
    { clock },
  );
  const url = `${gw.url}/v1/chat/completions`;
  try {
    // Timers already pending (the memory store's sweep): each stalled stream adds one.
    const baseline = clock.pendingTimers;
    // Three streams that nobody reads: two take the stream pool's connections, the third waits for one.
    const slow = [0, 1, 2].map(() => request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: streamBody }));
    // Every buffer between upstream and client fills; then each stream waits for its client to drain, on the clock.
    await until(() => up.open === 2 && clock.pendingTimers >= baseline + 2, 30_000, 'two stalled streams');

    // A request answered whole, to the same provider, while the streams are stuck: it is answered.
    const normal = await within(request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody }), 15_000, 'the normal request');
    assert.equal(normal.statusCode, 200);
    assert.equal(((await normal.body.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, 'ok');
    assert.equal(up.open, 2, 'a stream was cut before its write timeout');
    assert.equal(up.opened, 2, 'the third stream got a connection while the pool was full');

    // Past the write timeout the two stalled clients are cut off and their upstream calls
    // cancelled, which gives the connections back: the waiting stream gets one.
    clock.advance(5_000);
    await until(() => up.opened === 3, 15_000, 'the waiting stream to reach the upstream');
    const [first, second, third] = await within(Promise.all(slow), 15_000, 'the stream responses');
    for (const res of [first!, second!]) {
      assert.equal(res.statusCode, 200);
      // What was buffered is readable, then the connection is gone before the stream ended.
      await assert.rejects(within(res.body.text(), 15_000, 'the cut stream'), (err: Error) => !err.message.includes('did not complete'));
    }
    assert.equal(third!.statusCode, 200);
    let got = 0;
    for await (const piece of third!.body) {
      got += (piece as Buffer).length;
      if (got > 64 * 1024) break;
    }
    assert.ok(got > 64 * 1024, 'the stream that waited is served');
    await until(() => up.open === 0, 15_000, 'the upstream streams to close');
    const cut = gw.logs.map((l) => JSON.parse(l) as { code?: string; clientGone?: boolean }).filter((l) => l.code === 'SLUICE_ERR_CLIENT_TOO_SLOW');
    assert.equal(cut.length, 2, 'each client cut off is logged with SLUICE_ERR_CLIENT_TOO_SLOW');
  } finally {
    await gw.close();
    await up.stop();
  }
});

test('a stream whose client reads, however its buffers fill, is not cut off', async () => {
  const up = await new StreamingUpstream('flood').start();
  const clock = new FakeClock();
  const gw = await startGateway({ server: { streamWriteTimeout: '5s' }, providers: { up: { type: 'openai', baseUrl: up.url } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] }, {}, { clock });
  try {
    const baseline = clock.pendingTimers;
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: streamBody });
    assert.equal(res.statusCode, 200);
    await until(() => clock.pendingTimers >= baseline + 1, 30_000, 'the stream to wait for its client');
    // The client reads (the timer is cleared on drain), then time passes: nothing is cut.
    let got = 0;
    for await (const piece of res.body) {
      got += (piece as Buffer).length;
      if (got > 8 * 1024 * 1024) break;
    }
    clock.advance(60_000);
    assert.equal(up.open, 1);
    assert.equal(gw.logs.filter((l) => l.includes('SLUICE_ERR_CLIENT_TOO_SLOW')).length, 0);
  } finally {
    await gw.close();
    await up.stop();
  }
});
