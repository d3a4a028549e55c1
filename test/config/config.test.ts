import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, formatPath, formatProblem, parseConfigText, validateConfig, type ConfigProblem } from '../../src/config/load.js';
import { compileConfig, type CompiledRoute, type OpenAIProviderRuntime, type ProviderRuntime, type RuntimeConfig } from '../../src/config/compile.js';
import { BUILTIN_SOURCE, parsePort, resolveConfig } from '../../src/config/resolve.js';
import { Secret } from '../../src/lib/secret.js';

const FULL = `
server:
  host: 0.0.0.0
  port: 9000
  bodyLimit: 1mb
  drainTimeout: 30s
logging:
  level: debug
  sampleRate: 0.25
providers:
  openai:
    type: openai
    baseUrl: https://api.openai.com/v1/
    apiKey: \${OPENAI_API_KEY}
    headers:
      OpenAI-Organization: org-1
    connections: 16
    timeouts:
      connect: 2s
      firstByte: 5m
      idle: 1500ms
  local:
    type: openai
    baseUrl: http://localhost:8080
  mock:
    type: mock
    latencyMs: 5
routes:
  - name: fast
    match: [gpt-4o-mini, "gpt-4o-mini-*"]
    targets:
      - provider: openai
  - match: "gpt-4o*"
    targets:
      - provider: openai
        model: gpt-4o
      - provider: local
        model: llama
  - match: [a, b]
    targets: [{ provider: mock }]
`;

const ENV = { OPENAI_API_KEY: 'sk-test-abc' };

/** Runs fn, expects a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): readonly ConfigProblem[] {
  return configError(() => parseConfigText(text, 'test.yaml', env)).problems;
}

function openai(p: ProviderRuntime | undefined): OpenAIProviderRuntime {
  assert.ok(p !== undefined && p.type === 'openai', 'expected an openai provider');
  return p;
}

const BASE_PROVIDERS = `
providers:
  openai:
    type: openai
    baseUrl: https://api.openai.com/v1
`;


/** Routes reduced to name, patterns and targets' provider/model (policies are tested apart). */
const routeShapes = (routes: readonly CompiledRoute[]) =>
  routes.map((r) => ({ name: r.name, patterns: r.patterns, targets: r.targets.map((t) => ({ provider: t.provider, model: t.model })) }));

describe('parseConfigText + compileConfig: a valid config', () => {
  const rc = compileConfig(parseConfigText(FULL, 'sluice.yaml', ENV), 'sluice.yaml');

  test('server and logging values, durations in ms and sizes in bytes', () => {
    assert.equal(rc.source, 'sluice.yaml');
    assert.deepEqual(rc.server, { host: '0.0.0.0', port: 9000, bodyLimit: 1_048_576, drainTimeoutMs: 30_000, backlog: 4096, trustProxy: false, cors: { origins: [], credentials: false, maxAgeMs: 600_000 }, limits: { connections: 10_000, connectionsPerIp: 2_000, streams: 4_000, streamsPerIp: 1_000 }, streamWriteTimeoutMs: 30_000, workers: 1 });
    assert.deepEqual(rc.logging, { level: 'debug', sampleRate: 0.25 });
  });

  test('openai provider: origin, basePath without trailing slash, headers, connections, timeouts', () => {
    const p = openai(rc.providers.openai);
    assert.equal(p.name, 'openai');
    assert.equal(p.origin, 'https://api.openai.com');
    assert.equal(p.basePath, '/v1');
    assert.deepEqual(p.headers, { 'OpenAI-Organization': 'org-1' });
    assert.equal(p.connections, 16);
    assert.deepEqual(p.timeouts, { connectMs: 2000, firstByteMs: 300_000, idleMs: 1500 });
  });

  test('openai provider defaults: no apiKey is null, empty basePath, default timeouts and connections', () => {
    const p = openai(rc.providers.local);
    assert.equal(p.origin, 'http://localhost:8080');
    assert.equal(p.basePath, '');
    assert.equal(p.apiKey, null);
    assert.deepEqual(p.headers, {});
    assert.equal(p.connections, 128);
    assert.deepEqual(p.timeouts, { connectMs: 10_000, firstByteMs: 300_000, idleMs: 60_000 });
  });

  test('mock provider options get their defaults', () => {
    assert.deepEqual(rc.providers.mock, {
      type: 'mock',
      name: 'mock',
      options: { latencyMs: 5, tokensPerSecond: 0, status: null, failRate: 0, dropAfterChunks: null, retryAfter: null, seed: 1 },
      healthCheck: null,
    });
    assert.deepEqual(Object.keys(rc.providers), ['openai', 'local', 'mock']);
  });

  test('route names: explicit, the single pattern, else route-<index>; target.model null when absent', () => {
    assert.deepEqual(routeShapes(rc.routes), [
      { name: 'fast', patterns: ['gpt-4o-mini', 'gpt-4o-mini-*'], targets: [{ provider: 'openai', model: null }] },
      {
        name: 'gpt-4o*',
        patterns: ['gpt-4o*'],
        targets: [
          { provider: 'openai', model: 'gpt-4o' },
          { provider: 'local', model: 'llama' },
        ],
      },
      // The index is 0-based, like the `routes[2]` paths in problems.
      { name: 'route-2', patterns: ['a', 'b'], targets: [{ provider: 'mock', model: null }] },
    ]);
  });

  test('apiKey is a Secret: redacted when printed, serialised or inspected; reveal() gives it', () => {
    const key = openai(rc.providers.openai).apiKey;
    assert.ok(key instanceof Secret);
    assert.equal(key.reveal(), 'sk-test-abc');
    assert.equal(String(key), '[redacted]');
    assert.equal(JSON.stringify(key), '"[redacted]"');
    assert.equal(inspect(key), '[redacted]');
    const whole = JSON.stringify(rc);
    assert.equal(whole.includes('sk-test-abc'), false);
    assert.equal(whole.includes('"apiKey":"[redacted]"'), true);
    const shown = inspect(rc, { depth: null });
    assert.equal(shown.includes('sk-test-abc'), false);
    assert.equal(shown.includes('apiKey: [redacted]'), true);
  });

  test('the runtime config is deeply frozen', () => {
    const p = openai(rc.providers.openai);
    const mock = rc.providers.mock;
    assert.ok(mock !== undefined && mock.type === 'mock');
    const route = rc.routes[1];
    assert.ok(route !== undefined);
    const nested: [string, unknown][] = [
      ['rc', rc],
      ['server', rc.server],
      ['logging', rc.logging],
      ['providers', rc.providers],
      ['providers.openai', p],
      ['providers.openai.headers', p.headers],
      ['providers.openai.timeouts', p.timeouts],
      ['providers.mock.options', mock.options],
      ['routes', rc.routes],
      ['routes[1]', route],
      ['routes[1].patterns', route.patterns],
      ['routes[1].targets', route.targets],
      ['routes[1].targets[0]', route.targets[0]],
    ];
    for (const [what, v] of nested) assert.equal(Object.isFrozen(v), true, what);
    assert.throws(() => {
      (rc.server as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (rc.routes as unknown as unknown[]).push({ name: 'x' });
    }, TypeError);
    assert.equal(rc.server.port, 9000);
    assert.equal(rc.routes.length, 3);
  });

  test('overrides replace host and port', () => {
    const over = compileConfig(parseConfigText(FULL, 's', ENV), 's', { host: '::1', port: 0 });
    assert.equal(over.server.host, '::1');
    assert.equal(over.server.port, 0);
    assert.equal(over.server.bodyLimit, 1_048_576);
  });
});

describe('problems are reported with exact paths', () => {
  test('a route target naming an undefined provider', () => {
    const text = `${BASE_PROVIDERS}
routes:
  - match: a
    targets: [{ provider: openai }]
  - match: b
    targets:
      - provider: opena1
`;
    const err = configError(() => parseConfigText(text, 'my.yaml', {}));
    assert.equal(err.source, 'my.yaml');
    assert.equal(err.name, 'ConfigError');
    assert.deepEqual(err.problems, [{ path: 'routes[1].targets[0].provider', message: 'unknown provider "opena1" (defined: openai)' }]);
    assert.equal(formatProblem(err.problems[0]!), 'routes[1].targets[0].provider: unknown provider "opena1" (defined: openai)');
    assert.equal(err.message, 'invalid configuration in my.yaml:\nroutes[1].targets[0].provider: unknown provider "opena1" (defined: openai)');
  });

  test('unknown provider without a providers section lists no defined providers', () => {
    assert.deepEqual(problemsOf('routes:\n  - match: x\n    targets: [{ provider: opena1 }]\n'), [
      { path: 'routes[0].targets[0].provider', message: 'unknown provider "opena1"' },
    ]);
  });

  test('a provider name inherited from Object.prototype is not a defined provider', () => {
    const text = `${BASE_PROVIDERS}
routes:
  - match: x
    targets: [{ provider: constructor }]
`;
    assert.deepEqual(problemsOf(text), [{ path: 'routes[0].targets[0].provider', message: 'unknown provider "constructor" (defined: openai)' }]);
  });

  test('unknown top-level key (strict objects)', () => {
    assert.deepEqual(problemsOf('bogus: 1\n'), [{ path: 'bogus', message: 'unknown key' }]);
    assert.deepEqual(problemsOf('server:\n  prot: 80\n'), [{ path: 'server.prot', message: 'unknown key' }]);
    assert.equal(formatProblem({ path: '', message: 'the configuration must be a YAML mapping' }), 'the configuration must be a YAML mapping');
  });

  test('unknown provider type', () => {
    assert.deepEqual(problemsOf('providers:\n  x:\n    type: azure\n'), [
      { path: 'providers.x.type', message: 'unknown provider type (expected one of: openai, anthropic, gemini, azure-openai, mock)' },
    ]);
  });

  test('bad baseUrl: not a URL, or not http(s)', () => {
    const msg = 'must be an http(s) URL such as https://api.openai.com/v1';
    assert.deepEqual(problemsOf('providers:\n  x:\n    type: openai\n    baseUrl: not a url\n'), [{ path: 'providers.x.baseUrl', message: msg }]);
    assert.deepEqual(problemsOf('providers:\n  x:\n    type: openai\n    baseUrl: ftp://example.com/v1\n'), [{ path: 'providers.x.baseUrl', message: msg }]);
  });

  test('bad duration and bad size strings', () => {
    assert.deepEqual(problemsOf('server:\n  drainTimeout: 10 parsecs\n'), [
      { path: 'server.drainTimeout', message: 'invalid duration "10 parsecs" (use e.g. 500ms, 30s, 5m, 7d, or milliseconds)' },
    ]);
    assert.deepEqual(problemsOf('server:\n  bodyLimit: lots\n'), [{ path: 'server.bodyLimit', message: 'invalid size "lots" (use e.g. 512kb, 4mb, or bytes)' }]);
    assert.deepEqual(problemsOf('server:\n  backlog: 0\n').map((p) => p.path), ['server.backlog']);
    assert.deepEqual(problemsOf('server:\n  backlog: 1.5\n').map((p) => p.path), ['server.backlog']);
  });

  test('negative port', () => {
    assert.deepEqual(problemsOf('server:\n  port: -1\n'), [{ path: 'server.port', message: 'must be at least 0' }]);
  });

  test('empty targets array', () => {
    assert.deepEqual(problemsOf('routes:\n  - match: x\n    targets: []\n'), [{ path: 'routes[0].targets', message: 'must have at least 1 item' }]);
  });

  test('several problems are all reported', () => {
    const text = `
server:
  port: -1
  drainTimeout: soon
providers:
  openai:
    type: openai
    baseUrl: https://api.openai.com/v1
    timeouts:
      idle: forever
  bad:
    type: azure
routes:
  - match: x
    targets: [{ provider: openai }]
  - match: y
    targets: []
`;
    assert.deepEqual(problemsOf(text), [
      { path: 'server.port', message: 'must be at least 0' },
      { path: 'server.drainTimeout', message: 'invalid duration "soon" (use e.g. 500ms, 30s, 5m, 7d, or milliseconds)' },
      { path: 'providers.openai.timeouts.idle', message: 'invalid duration "forever" (use e.g. 500ms, 30s, 5m, 7d, or milliseconds)' },
      { path: 'providers.bad.type', message: 'unknown provider type (expected one of: openai, anthropic, gemini, azure-openai, mock)' },
      { path: 'routes[1].targets', message: 'must have at least 1 item' },
    ]);
  });

  test('an unknown provider is reported together with a field problem', () => {
    const text = `${BASE_PROVIDERS}
server:
  port: -1
routes:
  - match: x
    targets: [{ provider: opena1 }]
`;
    assert.deepEqual(problemsOf(text), [
      { path: 'server.port', message: 'must be at least 0' },
      { path: 'routes[0].targets[0].provider', message: 'unknown provider "opena1" (defined: openai)' },
    ]);
  });

  test('an unknown provider is reported together with a bad duration', () => {
    const text = `${BASE_PROVIDERS}
server:
  drainTimeout: soon
routes:
  - match: x
    targets: [{ provider: opena1 }]
`;
    assert.deepEqual(problemsOf(text), [
      { path: 'server.drainTimeout', message: 'invalid duration "soon" (use e.g. 500ms, 30s, 5m, 7d, or milliseconds)' },
      { path: 'routes[0].targets[0].provider', message: 'unknown provider "opena1" (defined: openai)' },
    ]);
  });

  test('YAML syntax error: one problem at the root', () => {
    const problems = problemsOf('server:\n  port: 1\n  host: [oops\n');
    assert.ok(problems.length >= 1);
    for (const p of problems) {
      assert.equal(p.path, '');
      assert.match(p.message, /^YAML error at line /);
    }
  });

  test('YAML syntax error message gives the line number', () => {
    const problems = problemsOf('server:\n  port: 1\n a: 2\n');
    assert.match(problems[0]?.message ?? '', /^YAML error at line 3, column \d+: /);
  });

  test('a YAML document that is a list or a scalar is not a mapping', () => {
    assert.deepEqual(problemsOf('- a\n- b\n'), [{ path: '', message: 'the configuration must be a YAML mapping' }]);
    assert.deepEqual(problemsOf('42\n'), [{ path: '', message: 'the configuration must be a YAML mapping' }]);
  });

  test('an empty document is the default config', () => {
    const rc = compileConfig(parseConfigText('', 'empty.yaml', {}), 'empty.yaml');
    assert.equal(rc.server.port, 8787);
    assert.deepEqual(Object.keys(rc.providers), ['mock']);
  });

  test('formatPath joins keys with dots and indexes with brackets', () => {
    assert.equal(formatPath(['routes', 1, 'targets', 0, 'provider']), 'routes[1].targets[0].provider');
    assert.equal(formatPath([]), '');
    assert.equal(formatPath([0, 'a']), '[0].a');
  });
});

describe('${ENV} interpolation', () => {
  const withKey = (value: string): string => `
providers:
  openai:
    type: openai
    baseUrl: https://api.openai.com/v1
    apiKey: "${value}"
`;
  const keyOf = (text: string, env: NodeJS.ProcessEnv): string | undefined => {
    const rc = compileConfig(parseConfigText(text, 's', env), 's');
    return openai(rc.providers.openai).apiKey?.reveal();
  };

  test('a set variable is substituted', () => {
    assert.equal(keyOf(withKey('${KEY}'), { KEY: 'sk-1' }), 'sk-1');
  });

  test('an unset variable is a problem at its path', () => {
    assert.deepEqual(problemsOf(withKey('${KEY}'), {}), [{ path: 'providers.openai.apiKey', message: 'environment variable KEY is not set' }]);
  });

  test('an empty variable counts as unset', () => {
    assert.deepEqual(problemsOf(withKey('${KEY}'), { KEY: '' }), [{ path: 'providers.openai.apiKey', message: 'environment variable KEY is not set' }]);
  });

  test('a problem inside an array has an index in its path', () => {
    const text = 'routes:\n  - match: ["${M}"]\n    targets: [{ provider: mock }]\n';
    assert.deepEqual(problemsOf(text, {}), [{ path: 'routes[0].match[0]', message: 'environment variable M is not set' }]);
  });

  test('${X:-default} uses the default only when X is unset', () => {
    assert.equal(keyOf(withKey('${KEY:-fallback}'), {}), 'fallback');
    assert.equal(keyOf(withKey('${KEY:-fallback}'), { KEY: 'real' }), 'real');
  });

  test('several references in one string', () => {
    const text = `
providers:
  up:
    type: openai
    baseUrl: "http://\${HOST}:\${PORT:-8080}/\${VER}"
`;
    const rc = compileConfig(parseConfigText(text, 's', { HOST: 'example.com', VER: 'v2' }), 's');
    const p = openai(rc.providers.up);
    assert.equal(p.origin, 'http://example.com:8080');
    assert.equal(p.basePath, '/v2');
  });

  test('every unset reference is reported', () => {
    assert.deepEqual(problemsOf(withKey('${A}-${B}'), {}), [
      { path: 'providers.openai.apiKey', message: 'environment variable A is not set' },
      { path: 'providers.openai.apiKey', message: 'environment variable B is not set' },
    ]);
  });

  test('text that is not a reference is left alone', () => {
    assert.equal(keyOf(withKey('$KEY {KEY} $${1X}'), { KEY: 'no' }), '$KEY {KEY} $${1X}');
  });
});

describe('server.workers', () => {
  test('takes a count or auto (one per core) and refuses anything else', async () => {
    const { availableParallelism } = await import('node:os');
    assert.equal(compileConfig(parseConfigText('server: { workers: 3 }', 't.yaml', {}), 't.yaml').server.workers, 3);
    assert.equal(compileConfig(parseConfigText('server: { workers: auto }', 't.yaml', {}), 't.yaml').server.workers, availableParallelism());
    for (const bad of ['0', '-1', '1.5', 'many', '257']) assert.ok(problemsOf(`server: { workers: ${bad} }`).some((p) => p.path === 'server.workers'), bad);
  });
});

describe('defaults', () => {
  test('an empty config compiles to the built-in defaults', () => {
    const rc = compileConfig(validateConfig({}, BUILTIN_SOURCE, {}), BUILTIN_SOURCE);
    assert.equal(rc.source, '(built-in default)');
    assert.deepEqual(rc.server, { host: '127.0.0.1', port: 8787, bodyLimit: 4 * 1024 * 1024, drainTimeoutMs: 30_000, backlog: 4096, trustProxy: false, cors: { origins: [], credentials: false, maxAgeMs: 600_000 }, limits: { connections: 10_000, connectionsPerIp: 2_000, streams: 4_000, streamsPerIp: 1_000 }, streamWriteTimeoutMs: 30_000, workers: 1 });
    assert.deepEqual(rc.logging, { level: 'info', sampleRate: 1 });
    assert.deepEqual(rc.providers, {
      mock: {
        type: 'mock',
        name: 'mock',
        options: { latencyMs: 0, tokensPerSecond: 0, status: null, failRate: 0, dropAfterChunks: null, retryAfter: null, seed: 1 },
        healthCheck: null,
      },
    });
    assert.deepEqual(routeShapes(rc.routes), [
      { name: 'mock-1', patterns: ['mock-1'], targets: [{ provider: 'mock', model: 'mock-1' }] },
      { name: 'default', patterns: ['*'], targets: [{ provider: 'mock', model: null }] },
    ]);
  });

  test('null is treated as an empty config', () => {
    const rc = compileConfig(validateConfig(null, 's', {}), 's');
    assert.equal(rc.server.host, '127.0.0.1');
    assert.equal(rc.routes.length, 2);
  });

  test('providers but no routes: default routes and an added mock provider', () => {
    const rc = compileConfig(parseConfigText(BASE_PROVIDERS, 's', {}), 's');
    assert.deepEqual(Object.keys(rc.providers), ['openai', 'mock']);
    assert.equal(rc.providers.mock?.type, 'mock');
    assert.deepEqual(
      rc.routes.map((r) => [r.name, r.patterns]),
      [
        ['mock-1', ['mock-1']],
        ['default', ['*']],
      ],
    );
  });

  test('a declared mock provider is kept as declared', () => {
    const rc = compileConfig(parseConfigText('providers:\n  mock:\n    type: mock\n    latencyMs: 7\n', 's', {}), 's');
    const mock = rc.providers.mock;
    assert.ok(mock !== undefined && mock.type === 'mock');
    assert.equal(mock.options.latencyMs, 7);
  });

  test('routes using provider mock with no providers section are valid', () => {
    const rc = compileConfig(parseConfigText('routes:\n  - match: "*"\n    targets: [{ provider: mock, model: m }]\n', 's', {}), 's');
    assert.deepEqual(Object.keys(rc.providers), ['mock']);
    assert.deepEqual(routeShapes(rc.routes), [{ name: '*', patterns: ['*'], targets: [{ provider: 'mock', model: 'm' }] }]);
  });

  test('providers and routes: no mock provider is added', () => {
    const text = `${BASE_PROVIDERS}
routes:
  - match: x
    targets: [{ provider: openai }]
`;
    const rc = compileConfig(parseConfigText(text, 's', {}), 's');
    assert.deepEqual(Object.keys(rc.providers), ['openai']);
  });

  test('routes using mock when providers are declared without it are invalid', () => {
    const text = `${BASE_PROVIDERS}
routes:
  - match: x
    targets: [{ provider: mock }]
`;
    assert.deepEqual(problemsOf(text), [{ path: 'routes[0].targets[0].provider', message: 'unknown provider "mock" (defined: openai)' }]);
  });
});

describe('resolveConfig', () => {
  let dir = '';
  let empty = '';
  let withDefault = '';
  let other = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    empty = join(dir, 'empty');
    withDefault = join(dir, 'with-default');
    other = join(dir, 'other.yaml');
    mkdirSync(empty);
    mkdirSync(withDefault);
    writeFileSync(join(withDefault, 'sluice.yaml'), 'server:\n  host: 10.0.0.1\n  port: 7001\n');
    writeFileSync(other, 'server:\n  host: 10.0.0.2\n  port: 7002\n');
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const resolve = (o: Parameters<typeof resolveConfig>[0]): RuntimeConfig => resolveConfig(o);

  test('built-in default when there is no flag, no SLUICE_CONFIG and no ./sluice.yaml', () => {
    const rc = resolve({ env: {}, cwd: empty });
    assert.equal(rc.source, '(built-in default)');
    assert.equal(rc.server.host, '127.0.0.1');
    assert.equal(rc.server.port, 8787);
  });

  test('./sluice.yaml in cwd is picked up', () => {
    const rc = resolve({ env: {}, cwd: withDefault });
    assert.equal(rc.source, join(withDefault, 'sluice.yaml'));
    assert.equal(rc.server.host, '10.0.0.1');
    assert.equal(rc.server.port, 7001);
  });

  test('SLUICE_CONFIG wins over ./sluice.yaml; the flag wins over SLUICE_CONFIG', () => {
    const fromEnv = resolve({ env: { SLUICE_CONFIG: other }, cwd: withDefault });
    assert.equal(fromEnv.source, other);
    assert.equal(fromEnv.server.port, 7002);
    const fromFlag = resolve({ configFile: join(withDefault, 'sluice.yaml'), env: { SLUICE_CONFIG: other }, cwd: empty });
    assert.equal(fromFlag.source, join(withDefault, 'sluice.yaml'));
    assert.equal(fromFlag.server.port, 7001);
  });

  test('an empty SLUICE_CONFIG is ignored', () => {
    assert.equal(resolve({ env: { SLUICE_CONFIG: '' }, cwd: empty }).source, BUILTIN_SOURCE);
  });

  test('port and host: flag > SLUICE_PORT/SLUICE_HOST > file', () => {
    const file = resolve({ configFile: other, env: {}, cwd: empty });
    assert.deepEqual([file.server.host, file.server.port], ['10.0.0.2', 7002]);
    const env = resolve({ configFile: other, env: { SLUICE_PORT: '7100', SLUICE_HOST: '10.9.9.9' }, cwd: empty });
    assert.deepEqual([env.server.host, env.server.port], ['10.9.9.9', 7100]);
    const flag = resolve({ configFile: other, host: '10.1.1.1', port: 7200, env: { SLUICE_PORT: '7100', SLUICE_HOST: '10.9.9.9' }, cwd: empty });
    assert.deepEqual([flag.server.host, flag.server.port], ['10.1.1.1', 7200]);
    const zero = resolve({ configFile: other, port: 0, env: { SLUICE_PORT: '7100' }, cwd: empty });
    assert.equal(zero.server.port, 0);
  });

  test('env overrides apply to the built-in default too; empty values are ignored', () => {
    const rc = resolve({ env: { SLUICE_PORT: '9999', SLUICE_HOST: '' }, cwd: empty });
    assert.equal(rc.server.port, 9999);
    assert.equal(rc.server.host, '127.0.0.1');
  });

  test('an invalid SLUICE_PORT is rejected', () => {
    assert.throws(() => resolve({ env: { SLUICE_PORT: 'abc' }, cwd: empty }), {
      name: 'RangeError',
      message: 'SLUICE_PORT: invalid port "abc" (expected 0-65535)',
    });
  });

  test('a missing config file is a ConfigError naming the file', () => {
    const missing = join(dir, 'nope.yaml');
    const err = configError(() => resolve({ configFile: missing, env: {}, cwd: empty }));
    assert.equal(err.source, missing);
    assert.deepEqual(err.problems, [{ path: '', message: `cannot read config file ${JSON.stringify(missing)}: no such file (ENOENT)` }]);
  });

  test('the env is used for interpolation in the file', () => {
    const f = join(dir, 'interp.yaml');
    writeFileSync(f, 'server:\n  host: ${BIND_HOST}\n');
    assert.equal(resolve({ configFile: f, env: { BIND_HOST: '10.5.5.5' }, cwd: empty }).server.host, '10.5.5.5');
    const err = configError(() => resolve({ configFile: f, env: {}, cwd: empty }));
    assert.deepEqual(err.problems, [{ path: 'server.host', message: 'environment variable BIND_HOST is not set' }]);
  });

  test('parsePort accepts 0-65535 digits only', () => {
    assert.equal(parsePort('0', 'x'), 0);
    assert.equal(parsePort('8080', 'x'), 8080);
    assert.equal(parsePort('65535', 'x'), 65535);
    for (const bad of ['abc', '70000', '65536', '-1', '', '80.5', ' 80', '0x50']) {
      assert.throws(() => parsePort(bad, '--port'), { name: 'RangeError', message: `--port: invalid port ${JSON.stringify(bad)} (expected 0-65535)` }, bad);
    }
  });
});

describe('numbers from the environment', () => {
  test('a numeric ${ENV} value is accepted where a number is expected', () => {
    const rc = compileConfig(parseConfigText('server:\n  port: ${PORT}\nproviders:\n  m: { type: mock, latencyMs: "${LAT:-25}" }\n', 'env.yaml', { PORT: '9090' }), 'env.yaml');
    assert.equal(rc.server.port, 9090);
    const m = rc.providers.m;
    assert.ok(m !== undefined && m.type === 'mock');
    assert.equal(m.options.latencyMs, 25);
  });

  test('a non-numeric value is still an error at its path', () => {
    assert.throws(
      () => parseConfigText('server:\n  port: ${PORT}\n', 'env.yaml', { PORT: 'eighty' }),
      (err: unknown) => err instanceof ConfigError && err.problems[0]?.path === 'server.port' && err.problems[0].message === 'must be a number',
    );
  });
});

describe('routing policies', () => {
  const compile = (raw: Record<string, unknown>) => compileConfig(validateConfig(raw, 't', {}), 't');
  const providers = { p: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', timeouts: { firstByte: '20s' } } };

  test('defaults: failover, 2 retries on 429/5xx, breaker on, queue of 100', () => {
    const r = compile({ providers, routes: [{ match: 'm', targets: [{ provider: 'p' }] }] }).routes[0]!;
    assert.equal(r.strategy, 'failover');
    assert.deepEqual([...r.fallbackOn], [429, 500, 502, 503, 504, 529]);
    assert.deepEqual({ ...r.retry, on: [...r.retry.on] }, { attempts: 2, on: [429, 500, 502, 503, 504, 529], backoffBaseMs: 100, backoffMaxMs: 2000, budget: 0.2, budgetMinPerSecond: 5, maxRetryAfterMs: 2000 });
    assert.deepEqual(r.breaker, { enabled: true, failureRatio: 0.5, minRequests: 10, windowMs: 30_000, consecutiveFailures: 5, openMs: 30_000, halfOpenProbes: 1 });
    assert.deepEqual(r.queue, { maxDepth: 100, timeoutMs: 10_000, priorityHeader: false, priority: 0, priorityByEndpoint: {}, priorityByHeader: null });
    assert.equal(r.totalTimeoutMs, null);
    assert.equal(r.targets[0]!.timeouts, null, 'no route timeouts: the provider decides');
    assert.equal(r.targets[0]!.maxConcurrent, Infinity);
  });

  test('a route overrides routing defaults key by key', () => {
    const rc = compile({
      routing: { strategy: 'weighted', retry: { attempts: 4, backoffMax: '5s' }, breaker: { openFor: '1m' } },
      providers,
      routes: [
        { match: 'a', retry: { attempts: 1 }, breaker: { enabled: false }, targets: [{ provider: 'p' }] },
        { match: 'b', strategy: 'cost', targets: [{ provider: 'p' }] },
      ],
    });
    const [a, b] = rc.routes;
    assert.equal(a!.strategy, 'weighted');
    assert.equal(a!.retry.attempts, 1);
    assert.equal(a!.retry.backoffMaxMs, 5000, 'inherited from routing.retry');
    assert.equal(a!.breaker.enabled, false);
    assert.equal(a!.breaker.openMs, 60_000, 'inherited from routing.breaker');
    assert.equal(b!.strategy, 'cost');
    assert.equal(b!.retry.attempts, 4);
  });

  test('route timeouts merge over the provider timeouts per target', () => {
    const r = compile({ providers, routes: [{ match: 'm', timeouts: { idle: '5s', total: '2m' }, targets: [{ provider: 'p' }] }] }).routes[0]!;
    assert.deepEqual(r.targets[0]!.timeouts, { connectMs: 10_000, firstByteMs: 20_000, idleMs: 5_000 });
    assert.equal(r.totalTimeoutMs, 120_000);
  });

  test('target prices, limits and weights compile; unknown fallback models are problems', () => {
    const r = compile({
      providers,
      routes: [
        { match: 'm', fallback: ['x'], targets: [{ provider: 'p', weight: 3, region: 'eu', maxConcurrent: 4, limits: { rpm: 500, tpm: 150000, rpd: 10000 }, price: { input: 1, output: 2 } }] },
        { match: 'x', targets: [{ provider: 'p' }] },
      ],
    }).routes[0]!;
    assert.deepEqual(r.targets[0], { provider: 'p', model: null, weight: 3, region: 'eu', maxConcurrent: 4, rpm: 500, tpm: 150000, rpd: 10000, price: { input: 1, output: 2 }, timeouts: null, batchShare: 0.5 });
    assert.deepEqual(r.fallback, ['x']);
    assert.throws(
      () => compile({ providers, routes: [{ match: 'm', fallback: ['nope', 'm'], targets: [{ provider: 'p' }] }] }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.path === 'routes[0].fallback[0]' && p.message === 'no route serves the fallback model "nope"') &&
        err.problems.some((p) => p.path === 'routes[0].fallback[1]' && p.message === 'fallback model "m" is served by this same route'),
    );
  });
});

describe('tracing and log sampling settings', () => {
  test('tracing is off without an endpoint; with one, its headers are secrets', () => {
    assert.equal(compileConfig(parseConfigText('{}', 't.yaml', {}), 't.yaml').tracing, null);
    const rc = compileConfig(parseConfigText('tracing:\n  endpoint: http://127.0.0.1:4318/v1/traces\n  headers: { x-key: "${K}" }\n  sampleRate: 0.1\n', 't.yaml', { K: 'collector-key-1234' }), 't.yaml');
    assert.ok(rc.tracing !== null);
    assert.equal(rc.tracing.endpoint, 'http://127.0.0.1:4318/v1/traces');
    assert.equal(rc.tracing.serviceName, 'sluice');
    assert.equal(rc.tracing.sampleRate, 0.1);
    assert.ok(rc.tracing.headers['x-key'] instanceof Secret);
    assert.equal(rc.tracing.headers['x-key'].reveal(), 'collector-key-1234');
    assert.ok(!JSON.stringify(rc).includes('collector-key-1234'));
  });

  test('bad values name their key', () => {
    assert.deepEqual(
      problemsOf('tracing:\n  endpoint: grpc://collector:4317\n  sampleRate: 2\nlogging:\n  sampleRate: -1\n').map((p) => p.path).sort(),
      ['logging.sampleRate', 'tracing.endpoint', 'tracing.sampleRate'],
    );
  });
});
