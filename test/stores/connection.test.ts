import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { compileConfig } from '../../src/config/compile.js';
import { redactorFor } from '../../src/config/secrets.js';
import { compileRedisConnection, openRedis, redisConnectionSchema, redisSecrets, type RedisConnection } from '../../src/stores/connection.js';

const compiled = (redis: unknown): RedisConnection | null => compileConfig(validateConfig({ state: { redis } }, 'test.yaml', {}), 'test.yaml').state.redis;

function problems(redis: unknown): string[] {
  try {
    validateConfig({ state: { redis } }, 'test.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => p.path);
  }
  assert.fail(`expected ${JSON.stringify(redis)} to be refused`);
}

describe('state.redis: one URL, a Cluster URL list, or Sentinel settings (issue 20)', () => {
  test('a URL is one server', () => {
    assert.deepEqual(compiled('redis://:pw@cache:6380/2'), { mode: 'standalone', url: 'redis://:pw@cache:6380/2' });
    assert.equal(compileConfig(validateConfig({}, 'x', {}), 'x').state.redis, null);
  });

  test('a list of URLs is a Redis Cluster: nodes, the credentials of the first URL that has some, TLS from the scheme', () => {
    assert.deepEqual(compiled(['redis://10.0.0.1:7000', 'redis://user:p%40ss@10.0.0.2:7001', 'redis://[::1]']), {
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 6379 },
      ],
      username: 'user',
      password: 'p@ss',
      tls: false,
    });
    assert.equal((compiled(['rediss://a:1']) as { tls: boolean }).tls, true);
  });

  test('sentinel settings: host:port addresses, the group name, passwords, defaults', () => {
    assert.deepEqual(compiled({ sentinels: ['s1:26379', '[fe80::1]:26380'], name: 'main', password: 'm', sentinelPassword: 's' }), {
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 'fe80::1', port: 26380 },
      ],
      name: 'main',
      password: 'm',
      sentinelPassword: 's',
      tls: false,
      db: 0,
    });
  });

  test('bad settings are refused at state.redis with its path', () => {
    for (const bad of ['http://x:1', [], ['redis://a:1', 'rediss://b:2'], ['redis://a:1', 'http://b'], { sentinels: [], name: 'm' }, { sentinels: ['s1'], name: 'm' }, { sentinels: ['s1:1'] }, { sentinels: ['s1:1'], name: 'm', extra: 1 }, { sentinels: ['s1:1'], name: 'm', db: 99 }, 42]) {
      const paths = problems(bad);
      assert.ok(paths.length > 0 && paths.every((p) => p.startsWith('state.redis')), `${JSON.stringify(bad)}: ${paths.join(', ')}`);
    }
  });

  test('passwords of every form are secrets the redactor hides', () => {
    assert.deepEqual(redisSecrets(undefined), []);
    assert.deepEqual(redisSecrets('redis://:hunter2@h:1'), ['hunter2', 'hunter2']);
    assert.deepEqual(redisSecrets(['redis://h:1', 'redis://u:p%2Fq@h:2']), ['p/q', 'p%2Fq']);
    assert.deepEqual(redisSecrets(redisConnectionSchema.parse({ sentinels: ['s:1'], name: 'm', password: 'mpw', sentinelPassword: 'spw' })), ['mpw', 'spw']);
    const redactor = redactorFor(validateConfig({ state: { redis: { sentinels: ['s:1'], name: 'm', password: 'master-secret', sentinelPassword: 'sentinel-secret' } } }, 'x', {}));
    assert.equal(redactor.scrub('auth master-secret then sentinel-secret'), 'auth [redacted] then [redacted]');
  });

  test('compileRedisConnection is what the config compiles to', () => {
    assert.deepEqual(compileRedisConnection('redis://h:1'), compiled('redis://h:1'));
  });
});

describe('openRedis', () => {
  test('checks the connection and throws at construction', () => {
    const options = { offlineQueue: false, commandTimeoutMs: null, connectTimeoutMs: 1000 };
    assert.throws(() => openRedis({ mode: 'standalone', url: 'http://h:1' }, options), TypeError);
    assert.throws(() => openRedis({ mode: 'cluster', nodes: [], username: null, password: null, tls: false }, options), TypeError);
    assert.throws(() => openRedis({ mode: 'cluster', nodes: [{ host: 'h', port: 0 }], username: null, password: null, tls: false }, options), TypeError);
    assert.throws(() => openRedis({ mode: 'sentinel', sentinels: [], name: 'm', password: null, sentinelPassword: null, tls: false, db: 0 }, options), TypeError);
    assert.throws(() => openRedis({ mode: 'sentinel', sentinels: [{ host: 's', port: 1 }], name: '', password: null, sentinelPassword: null, tls: false, db: 0 }, options), TypeError);
    assert.throws(() => openRedis({ mode: 'other' } as unknown as RedisConnection, options), TypeError);
  });
});
