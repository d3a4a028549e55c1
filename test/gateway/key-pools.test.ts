import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { carryAdapterKeys, keyPoolServices } from '../../src/gateway/key-pools.js';
import { FakeClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { providerSchema, compileProvider, createAdapters } from '../../src/providers/catalog.js';
import { UpstreamPools } from '../../src/upstream/pools.js';
import { KeyPool } from '../../src/providers/keys/pool.js';

describe('key pools in the composition root', () => {
  let pools: UpstreamPools;
  before(() => {
    pools = new UpstreamPools();
  });
  after(async () => {
    await pools.close();
  });

  const logs: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );

  function adapters(keys: string[], clock: FakeClock) {
    const providers = { up: compileProvider('up', providerSchema.parse({ type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: keys })), mock: compileProvider('mock', providerSchema.parse({ type: 'mock' })) };
    return createAdapters(providers, pools, keyPoolServices(clock, logger));
  }

  test('carryAdapterKeys: a reloaded provider keeps the state of the keys it kept, by provider name', () => {
    const clock = new FakeClock();
    const before = adapters(['sk-reload-1', 'sk-reload-2'], clock);
    const pool = before.get('up')!.keys;
    assert.ok(pool instanceof KeyPool);
    assert.ok(pool.snapshot().every((s) => s.state === 'serving'));
    const first = pool.pick();
    pool.answered(first, 429, { 'retry-after': '30' });
    const afterReload = adapters(['sk-reload-1', 'sk-reload-3'], clock);
    carryAdapterKeys(before, afterReload);
    assert.deepEqual(
      afterReload.get('up')!.keys!.snapshot().map((s) => s.state),
      ['resting', 'serving'],
    );
    assert.equal(afterReload.get('mock')!.keys, undefined, 'the mock has no keys: nothing to carry');
  });

  test('a key taken out is logged once at error level by its id, without the key', () => {
    const clock = new FakeClock();
    const pool = adapters(['sk-logged-key-1', 'sk-logged-key-2'], clock).get('up')!.keys;
    assert.ok(pool instanceof KeyPool);
    const k = pool.pick();
    pool.answered(k, 401, {});
    const lines = logs.filter((l) => l.includes('taken out'));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`"key":"${k.id}"`));
    assert.match(lines[0]!, /"level":50/);
    assert.equal(lines[0]!.includes('sk-logged'), false);
  });
});
