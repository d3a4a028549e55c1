import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpstreamPools, originPoolKeys } from '../../src/upstream/pools.js';

test('streamed calls get a pool of their own per origin, apart from calls read whole (issue 15)', async () => {
  const pools = new UpstreamPools();
  const config = { origin: 'http://127.0.0.1:9', connections: 2, streamConnections: 8, timeouts: { connectMs: 1000 } };
  try {
    const whole = pools.forCall(config, 1000, false);
    const streams = pools.forCall(config, 1000, true);
    assert.notEqual(whole, streams);
    // Shared by every provider naming the origin with the same settings.
    assert.equal(pools.forCall({ ...config }, 1000, false), whole);
    assert.equal(pools.forCall(config, 1000, true), streams);
    assert.equal(pools.get(config.origin, { connections: 2, connectTimeoutMs: 1000 }), whole);
    // Another connect timeout is another pool, for streams too.
    assert.notEqual(pools.forCall(config, 2000, true), streams);
  } finally {
    await pools.close();
  }
});

test('regression (issue 20): the first caller set the size of an origin\'s pool, so a reloaded `connections` never applied; now each size has its pool', async () => {
  const pools = new UpstreamPools();
  const config = { origin: 'http://127.0.0.1:9', connections: 2, streamConnections: 8, timeouts: { connectMs: 1000 } };
  try {
    const small = pools.forCall(config, 1000, false);
    const large = pools.forCall({ ...config, connections: 50 }, 1000, false);
    assert.notEqual(small, large);
  } finally {
    await pools.close();
  }
});

test('retain closes the pools a config no longer uses and keeps the others; a later call gets a new pool', async () => {
  const pools = new UpstreamPools();
  const kept = { origin: 'http://127.0.0.1:9', connections: 2, streamConnections: 8, timeouts: { connectMs: 1000 } };
  const gone = { ...kept, origin: 'http://127.0.0.1:10' };
  try {
    const keptWhole = pools.forCall(kept, 1000, false);
    const goneWhole = pools.forCall(gone, 1000, false);
    pools.forCall(gone, 1000, true);
    assert.equal(pools.size, 3);
    assert.equal(await pools.retain(new Set(originPoolKeys(kept))), 2);
    assert.equal(pools.size, 1);
    assert.equal(goneWhole.closed, true);
    assert.equal(keptWhole.closed, false);
    assert.equal(pools.forCall(kept, 1000, false), keptWhole);
    const again = pools.forCall(gone, 1000, false);
    assert.notEqual(again, goneWhole);
    assert.equal(again.closed, false);
  } finally {
    await pools.close();
  }
});
