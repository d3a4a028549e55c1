import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyError } from '../../src/bench/errors.js';
import { isLoopbackHost, resolveTarget, sourceAddresses } from '../../src/bench/target.js';
import { BenchUsageError } from '../../src/bench/usage-error.js';

describe('loopback check', () => {
  const loop = ['127.0.0.1', '127.255.255.254', '127.0.0.2', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'api.localhost'];
  const remote = ['10.0.0.1', '192.168.1.1', '128.0.0.1', '126.255.255.255', '0.0.0.0', '::', '::2', 'fe80::1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', ''];
  for (const h of loop) test(`${h} is loopback`, () => assert.equal(isLoopbackHost(h), true));
  for (const h of remote) test(`${JSON.stringify(h)} is not`, () => assert.equal(isLoopbackHost(h), false));
});

describe('resolveTarget', () => {
  test('the base URL plus the endpoint path', () => {
    const t = resolveTarget('http://127.0.0.1:8787/v1', 'chat', false);
    assert.deepEqual(t, { origin: 'http://127.0.0.1:8787', path: '/v1/chat/completions', host: '127.0.0.1', loopback: true, ipv4Loopback: true });
    assert.equal(resolveTarget('http://127.0.0.1:8787/openai/v1/', 'embeddings', false).path, '/openai/v1/embeddings');
    assert.equal(resolveTarget('http://[::1]:9/v1', 'completions', false).ipv4Loopback, false);
  });

  test('URL tricks are normalised before the check', () => {
    assert.equal(resolveTarget('http://0x7f.1:8080/v1', 'chat', false).host, '127.0.0.1');
    assert.equal(resolveTarget('http://2130706433/v1', 'chat', false).host, '127.0.0.1');
    assert.equal(resolveTarget('http://[::ffff:127.0.0.1]/v1', 'chat', false).loopback, true);
  });

  test('a non-loopback target is refused without --allow-remote, allowed with it', () => {
    for (const url of ['http://10.1.2.3:8080/v1', 'https://api.openai.com/v1', 'http://127.0.0.1.nip.io/v1', 'http://[fe80::1]/v1']) {
      assert.throws(() => resolveTarget(url, 'chat', false), (err: unknown) => err instanceof BenchUsageError && /not a loopback address.*--allow-remote/.test(err.message), url);
    }
    assert.equal(resolveTarget('http://10.1.2.3:8080/v1', 'chat', true).loopback, false);
  });

  test('bad URLs', () => {
    assert.throws(() => resolveTarget('127.0.0.1:8787', 'chat', false), BenchUsageError);
    assert.throws(() => resolveTarget('ftp://127.0.0.1/v1', 'chat', false), /scheme/);
    assert.throws(() => resolveTarget('http://127.0.0.1/v1?x=1', 'chat', false), /query/);
  });

  test('source addresses 127.0.0.1 … 127.0.0.n', () => {
    assert.deepEqual(sourceAddresses(3), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    assert.throws(() => sourceAddresses(0), BenchUsageError);
    assert.throws(() => sourceAddresses(255), BenchUsageError);
  });
});

describe('classifyError', () => {
  const err = (code: string): Error => Object.assign(new Error(`boom ${code}`), { code });
  test('before the headers', () => {
    assert.equal(classifyError(err('UND_ERR_HEADERS_TIMEOUT'), null).kind, 'timeout');
    assert.equal(classifyError(err('UND_ERR_CONNECT_TIMEOUT'), null).kind, 'connect_timeout');
    assert.equal(classifyError(err('ECONNREFUSED'), null).kind, 'connection_refused');
    assert.equal(classifyError(err('ECONNRESET'), null).kind, 'connection_reset');
    assert.equal(classifyError(err('UND_ERR_SOCKET'), null).kind, 'connection_closed');
    assert.equal(classifyError(err('EADDRNOTAVAIL'), null).kind, 'no_ports');
    assert.equal(classifyError(err('EMFILE'), null).kind, 'fd_limit');
    assert.equal(classifyError(new Error('what'), null).kind, 'other');
    assert.equal(classifyError(Object.assign(new Error('wrapped'), { cause: err('ECONNREFUSED') }), null).kind, 'connection_refused');
  });
  test('in a body or a stream', () => {
    assert.equal(classifyError(err('UND_ERR_BODY_TIMEOUT'), 'stream').kind, 'stream_timeout');
    assert.equal(classifyError(err('UND_ERR_SOCKET'), 'stream').kind, 'stream_broken');
    assert.equal(classifyError(err('ECONNRESET'), 'body').kind, 'body_broken');
    assert.match(classifyError(err('ECONNRESET'), null).message, /^ECONNRESET: boom/);
  });
});
