import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { benchCommand, BENCH_HELP } from '../../src/cli/bench.js';
import type { BenchResult } from '../../src/bench/result.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { Backend } from '../helpers/backends.js';

/** Runs benchCommand with captured stdout/stderr (not terminals, so no progress line). */
async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  err.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await benchCommand(args, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

describe('sluice bench against a local Sluice', () => {
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    gw = await startGateway({});
    dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('open loop, JSON: every scheduled request is sent and answered, none fail', async () => {
    const report = join(dir, 'report.html');
    const { code, stdout, stderr } = await bench([`${gw.url}/v1`, '--rate', '40', '--duration', '1s', '--json', '--report', report, '--slo', 'p99<5s,errors<0.1%']);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const r = JSON.parse(stdout) as BenchResult;
    assert.equal(r.mode, 'open');
    assert.equal(r.latencyFrom, 'schedule');
    assert.deepEqual(r.counts, { scheduled: 40, sent: 40, ok: 40, errors: 0, attempts: 40, tokens: 0 });
    assert.deepEqual(r.errors, {});
    assert.equal(r.latency.count, 40);
    assert.ok(r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
    assert.equal(r.startLag?.count, 40);
    assert.ok(r.timeline.length >= 1);
    assert.equal(r.timeline.reduce((n, p) => n + p.ok, 0), 40);
    assert.deepEqual(r.slo?.map((s) => s.ok), [true, true]);
    const html = readFileSync(report, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg /);
    assert.doesNotMatch(html, /<script|<link|src=|@import|url\(/i, 'the report is self-contained');
  });

  test('streams: TTFT and token gaps per stream, tokens counted', async () => {
    const { code, stdout } = await bench([`${gw.url}/v1`, '--rate', '20', '--duration', '500ms', '--stream', '--max-tokens', '5', '--json']);
    assert.equal(code, 0);
    const r = JSON.parse(stdout) as BenchResult;
    assert.equal(r.counts.ok, 10);
    assert.equal(r.counts.errors, 0);
    assert.equal(r.counts.tokens, 50);
    assert.equal(r.streaming?.ttft.count, 10);
    assert.equal(r.streaming?.interToken.count, 40);
    assert.ok((r.streaming?.ttft.p50 ?? 0) <= r.latency.p50);
  });

  test('closed loop bounded by a request count', async () => {
    const { code, stdout } = await bench([`${gw.url}/v1`, '--concurrency', '4', '--requests', '60', '--json']);
    assert.equal(code, 0);
    const r = JSON.parse(stdout) as BenchResult;
    assert.equal(r.mode, 'closed');
    assert.equal(r.latencyFrom, 'send');
    assert.equal(r.counts.sent, 60);
    assert.equal(r.counts.ok, 60);
    assert.ok(r.maxInFlight <= 4);
  });

  test('a missed SLO exits 1; the text summary says which', async () => {
    const { code, stdout } = await bench([`${gw.url}/v1`, '--rate', '20', '--requests', '5', '--slo', 'p50<1us']);
    assert.equal(code, 1);
    assert.match(stdout, /SLO\s+p50<1us\s+FAIL/);
    assert.match(stdout, /5 scheduled, 5 sent, 5 ok, 0 errors/);
  });

  test('errors are counted by kind', async () => {
    const { code, stdout } = await bench([`${gw.url}/v1`, '--rate', '20', '--requests', '4', '--endpoint', 'embeddings', '--model', 'mock-1', '--body', join(dir, 'missing.json')]);
    assert.equal(code, 2, 'an unreadable --body is a usage error');
    assert.equal(stdout, '');
    const bad = await bench([`${gw.url}/nope`, '--rate', '20', '--requests', '4', '--json']);
    const r = JSON.parse(bad.stdout) as BenchResult;
    assert.deepEqual(r.errors, { http_404: 4 });
    assert.equal(r.counts.ok, 0);
  });
});

describe('sluice bench --path: any route of the target, such as an HTTP service behind Sluice (issue 22)', () => {
  test('GET by default, POST with --body sent as it is; 4xx counted as errors by status', async () => {
    const seen: { method: string; url: string; body: string; auth: string | undefined }[] = [];
    const backend = await new Backend('api', (req, res, body) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, auth: req.headers.authorization });
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }).start();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-path-'));
    try {
      const get = await bench([backend.url, '--path', '/api/v1/rankings?page=2', '--requests', '5', '--rate', '50', '--api-key', 'k-123', '--json']);
      assert.equal(get.code, 0, get.stderr);
      assert.equal((JSON.parse(get.stdout) as BenchResult).counts.ok, 5);
      assert.deepEqual(seen.map((s) => [s.method, s.url, s.body, s.auth]), Array.from({ length: 5 }, () => ['GET', '/api/v1/rankings?page=2', '', 'Bearer k-123']));

      seen.length = 0;
      const file = join(dir, 'issue.json');
      writeFileSync(file, '{"title":"pothole","where":[1,2]}');
      const post = await bench([backend.url, '--path', '/api/v1/issues', '--body', file, '--requests', '3', '--rate', '50', '--json']);
      assert.equal(post.code, 0, post.stderr);
      assert.deepEqual(seen.map((s) => [s.method, s.body]), Array.from({ length: 3 }, () => ['POST', '{"title":"pothole","where":[1,2]}']), 'the body as written, no model field added');

      const missing = await bench([backend.url, '--path', '/missing', '--requests', '2', '--rate', '50', '--json']);
      const r = JSON.parse(missing.stdout) as BenchResult;
      assert.equal(r.counts.errors, 2);
      assert.deepEqual(r.errors, { http_404: 2 });
    } finally {
      await backend.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('model-endpoint flags are refused with --path, and --method with a model endpoint', async () => {
    const cases: [string[], RegExp][] = [
      [['--path', '/x', '--model', 'm'], /--model applies to model endpoints, not to --path/],
      [['--path', '/x', '--stream'], /--stream applies to model endpoints/],
      [['--path', 'x'], /--path: expected an absolute path/],
      [['--path', '/x', '--method', 'TRACE'], /--method: expected one of GET, HEAD, POST, PUT, PATCH, DELETE/],
      [['--method', 'GET'], /--method: model endpoints take POST; use --path/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await bench(['http://127.0.0.1:9', ...args]);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message, args.join(' '));
    }
  });
});

describe('sluice bench refuses what it should not do', () => {
  test('a non-loopback target is refused before any connection is attempted', async () => {
    const seen: string[] = [];
    const onConnect = (): void => {
      seen.push('connect');
    };
    const onRequest = (): void => {
      seen.push('request');
    };
    subscribe('undici:client:beforeConnect', onConnect);
    subscribe('undici:request:create', onRequest);
    try {
      const started = performance.now();
      // A run of a minute that returns in seconds was refused before it started, however busy the machine.
      const { code, stdout, stderr } = await bench(['http://192.0.2.10:8787/v1', '--rate', '100', '--duration', '60s']);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, /refusing to load 192\.0\.2\.10:8787: it is not a loopback address.*--allow-remote/);
      assert.ok(performance.now() - started < 10_000, 'returned without running the minute');
      assert.deepEqual(seen, []);
    } finally {
      unsubscribe('undici:client:beforeConnect', onConnect);
      unsubscribe('undici:request:create', onRequest);
    }
  });

  test('usage errors exit 2 with the flag named', async () => {
    const cases: [string[], RegExp][] = [
      [['--rate', 'fast'], /--rate: expected a positive number/],
      [['--stages', '10s:100', '--rate', '5'], /--stages cannot be combined/],
      [['--rate', '10', '--concurrency', '3'], /--concurrency is for a closed loop/],
      [['--mode', 'closed', '--profile', 'load'], /shape an open-loop run/],
      [['--profile', 'bogus'], /--profile: expected one of smoke, load, stress, soak, spike/],
      [['--slo', 'p99<'], /--slo: clause 1/],
      [['--stream', '--endpoint', 'embeddings'], /embeddings do not stream/],
      [['http://[::1]:9/v1', '--source-addresses', '4'], /IPv4 loopback target/],
      [['--no-such-flag'], /Unknown option/],
      [['a', 'b'], /expected one URL/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await bench(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message, args.join(' '));
    }
  });

  test('--help lists every option', async () => {
    const { code, stdout } = await bench(['--help']);
    assert.equal(code, 0);
    assert.equal(stdout, BENCH_HELP);
    for (const flag of ['--rate', '--stages', '--profile', '--concurrency', '--mode', '--duration', '--requests', '--endpoint', '--model', '--stream', '--prompt', '--max-tokens', '--body', '--header', '--api-key', '--timeout', '--connections', '--max-in-flight', '--source-addresses', '--allow-remote', '--grace', '--json', '--report', '--slo', '--warmup', '--interval', '--quiet', '--help']) {
      assert.ok(stdout.includes(flag), flag);
    }
  });
});
