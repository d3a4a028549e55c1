import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpstreamPools } from '../../src/upstream/pools.js';

test('streamed calls get a pool of their own per origin, apart from calls read whole (issue 15)', async () => {
  const pools = new UpstreamPools();
  const config = { origin: 'http://127.0.0.1:9', connections: 2, streamConnections: 8, timeouts: { connectMs: 1000 } };
  try {
    const whole = pools.forCall(config, 1000, false);
    const streams = pools.forCall(config, 1000, true);
    assert.notEqual(whole, streams);
    // Shared by every provider naming the origin, as before.
    assert.equal(pools.forCall({ ...config, connections: 50 }, 1000, false), whole);
    assert.equal(pools.forCall(config, 1000, true), streams);
    assert.equal(pools.get(config.origin, { connections: 2, connectTimeoutMs: 1000 }), whole);
    // Another connect timeout is another pool, for streams too.
    assert.notEqual(pools.forCall(config, 2000, true), streams);
  } finally {
    await pools.close();
  }
});
