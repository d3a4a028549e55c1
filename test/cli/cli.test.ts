import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { CLI, exitCode, killChildren, spawnCli, startCli, waitForLine } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
// A failed assertion must not leave a gateway draining in the background.
after(killChildren);

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 10_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('sluice CLI', () => {
  test('--help lists the commands, and each command has its own help', () => {
    const top = run(['--help']);
    assert.equal(top.code, 0);
    for (const cmd of ['start', 'mock', 'config check']) assert.match(top.stdout, new RegExp(`\\n  ${cmd}\\s`));
    for (const [args, re] of [[['start', '--help'], /--config FILE/], [['mock', '--help'], /--drop-after-chunks/], [['config', 'check', '--help'], /config check FILE/]] as const) {
      const res = run([...args]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, re);
    }
  });

  test('an unknown command or flag exits 2 with a message', () => {
    const res = run(['frobnicate']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "frobnicate"/);
    const flag = run(['start', '--prot', '1']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--prot/);
  });

  test('config check accepts a valid file', () => {
    const file = writeConfig('good.yaml', 'providers:\n  openai: { type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "${OPENAI_API_KEY}" }\nroutes:\n  - match: "gpt-4o*"\n    targets: [{ provider: openai }]\n');
    const res = run(['config', 'check', file], { OPENAI_API_KEY: 'sk-test' });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /ok \(1 providers, 1 routes\)/);
  });

  test('config check prints every problem with its path and exits 1', () => {
    const file = writeConfig(
      'bad.yaml',
      [
        'server: { port: 99999 }',
        'providers:',
        '  openai: { type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "${SLUICE_TEST_UNSET_KEY}" }',
        'routes:',
        '  - match: "gpt-4o*"',
        '    targets: [{ provider: openai }]',
        '  - match: "gpt-3.5*"',
        '    targets: [{ provider: opena1 }]',
        '',
      ].join('\n'),
    );
    const res = run(['config', 'check', file]);
    assert.equal(res.code, 1);
    const lines = res.stdout.trim().split('\n');
    assert.ok(lines.includes('routes[1].targets[0].provider: unknown provider "opena1" (defined: openai)'), res.stdout);
    assert.ok(lines.some((l) => l.startsWith('server.port: ')), res.stdout);
    assert.ok(lines.includes('providers.openai.apiKey: environment variable SLUICE_TEST_UNSET_KEY is not set'), res.stdout);
    assert.match(res.stderr, /3 problems/);
  });

  test('start refuses an invalid config and exits 1', () => {
    const res = run(['start', '--config', writeConfig('bad2.yaml', 'routes: []\nbogus: 1\n'), '--port', '0']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /bogus/);
  });

  test('SIGTERM lets a stream in flight finish, refuses new work, and exits 0', async () => {
    // 10 tokens at 20 tokens/s: the stream runs for about half a second.
    const config = writeConfig('slow.yaml', 'usage: { enabled: false }\nproviders:\n  slow: { type: mock, tokensPerSecond: 20 }\nroutes:\n  - match: "*"\n    targets: [{ provider: slow }]\n');
    const { child, url, output } = await startCli(config);
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.statusCode, 200);
    const iterator = res.body[Symbol.asyncIterator]();
    let text = Buffer.from((await iterator.next()).value as Uint8Array).toString('utf8');
    child.kill('SIGTERM');
    await waitForLine(child, /"msg":"draining"/);
    // New work is refused while the stream drains: the listener is closed (refused, or reset
    // when the connection raced the close), or a request on a live connection gets a 503.
    const late = await request(`${url}/health`).then((r) => r.statusCode, (err: NodeJS.ErrnoException) => err.code);
    assert.ok(late === 'ECONNREFUSED' || late === 'ECONNRESET' || late === 503, `late request got ${String(late)}`);
    for (let item = await iterator.next(); item.done !== true; item = await iterator.next()) text += Buffer.from(item.value as Uint8Array).toString('utf8');
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), `stream did not complete: ${text}`);
    assert.equal((text.match(/"content":"[^"]+"/g) ?? []).length, 10);
    assert.equal(await exitCode(child), 0);
    assert.match(output(), /"drained":true/);
  });

  test('past the drain timeout, remaining streams are cut and the process still exits 0', async () => {
    const config = writeConfig('stuck.yaml', 'server: { drainTimeout: 200ms }\nusage: { enabled: false }\nproviders:\n  slow: { type: mock, tokensPerSecond: 2 }\nroutes:\n  - match: "*"\n    targets: [{ provider: slow }]\n');
    const { child, url, output } = await startCli(config);
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const started = performance.now();
    child.kill('SIGTERM');
    const text = await res.body.text().catch(() => '(connection closed)');
    assert.ok(!text.includes('[DONE]'));
    assert.equal(await exitCode(child), 0);
    assert.ok(performance.now() - started < 5000);
    assert.match(output(), /"drained":false/);
  });

  test('sluice mock serves OpenAI-compatible answers and stops on SIGTERM', async () => {
    const child = spawnCli(['mock', '--port', '0', '--latency-ms', '5']);
    const line = await waitForLine(child, /listening on/);
    const url = line.split('listening on ')[1]!.trim();
    const res = await request(`${url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { object: string };
    assert.equal(body.object, 'chat.completion');
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
  });

  test('sluice mock rejects a bad knob value', () => {
    const res = run(['mock', '--fail-rate', '2']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--fail-rate/);
  });
});
