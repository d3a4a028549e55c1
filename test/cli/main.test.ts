import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { CLI, exitCode, killChildren, spawnCli, startCli, waitForLine } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-main-'));
after(killChildren);

function run(args: string[]) {
  const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, SLUICE_CONFIG: '' }, timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Runs a command to its end without blocking this process (which may hold the port it needs). */
function runAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('operator mistakes get one clear line and no stack trace (issue 15)', () => {
  test('--version prints the package version (what an operator reports with a bug)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v', 'version']) {
      const out = spawnSync(process.execPath, [CLI, flag], { encoding: 'utf8' });
      assert.equal(out.status, 0);
      assert.equal(out.stdout, `sluice ${pkg.version}\n`);
    }
  });

  test('regression: config check of a missing file printed "cannot read file: ENOENT" without naming the file', () => {
    const res = run(['config', 'check', join(dir, 'nope.yaml')]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /cannot read config file ".*nope\.yaml": no such file \(ENOENT\)/);
    assert.doesNotMatch(res.stdout + res.stderr, /\n\s+at /, 'no stack trace');
  });

  test('regression: start --config of a missing file did not name it; now one line', () => {
    const res = run(['start', '--config', join(dir, 'nope.yaml')]);
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    assert.match(res.stderr, /^sluice: cannot read config file ".*nope\.yaml": no such file \(ENOENT\)\n$/);
  });

  test('regression: a port in use (EADDRINUSE) crashed with a stack trace; now one line naming host:port and what to set', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const res = await runAsync(['start', '--host', '127.0.0.1', '--port', String(port)]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, new RegExp(`^sluice: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use; .*server\\.port.*--port`));
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      holder.close();
    }
  });
});

const ROUTES_GPT = 'providers:\n  mock: { type: mock }\nroutes:\n  - match: "gpt-*"\n    targets: [{ provider: mock }]\n';
const ROUTES_BOTH = `${ROUTES_GPT}  - match: "claude-*"\n    targets: [{ provider: mock }]\n`;

async function chat(url: string, model: string): Promise<number> {
  const res = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  await res.body.dump();
  return res.statusCode;
}

async function ready(url: string): Promise<{ reload: { version: number; lastAttempt: { ok: boolean; error: string | null } | null } }> {
  const res = await request(`${url}/ready`);
  return (await res.body.json()) as { reload: { version: number; lastAttempt: { ok: boolean; error: string | null } | null } };
}

describe('SIGHUP reloads the config (issues 15, 20)', () => {
  test('regression: SIGHUP killed the gateway without draining; now it reloads the file, and a broken file leaves the old config serving', async () => {
    const config = join(dir, 'sighup.yaml');
    writeFileSync(config, ROUTES_GPT);
    const { child, url, output } = await startCli(config);
    assert.equal(await chat(url, 'claude-x'), 404, 'no route for claude-* yet');

    writeFileSync(config, ROUTES_BOTH);
    const reloaded = waitForLine(child, /config reloaded/);
    child.kill('SIGHUP');
    // Rejects if the process exits first (the old behaviour: killed by the signal).
    await reloaded;
    assert.equal(child.signalCode, null, 'not killed by the signal');
    assert.equal(await chat(url, 'claude-x'), 200, 'the route added by the reload serves');
    assert.equal((await ready(url)).reload.version, 2);

    writeFileSync(config, `${ROUTES_BOTH}  - match: "x-*"\n    targets: [{ provider: nope }]\n`);
    const refused = waitForLine(child, /config reload refused/);
    child.kill('SIGHUP');
    await refused;
    assert.match(output(), /unknown provider \\"nope\\"/);
    const r = await ready(url);
    assert.equal(r.reload.version, 2, 'the old config keeps serving');
    assert.equal(r.reload.lastAttempt?.ok, false);
    assert.match(r.reload.lastAttempt?.error ?? '', /routes\[2\]\.targets\[0\]\.provider: unknown provider "nope"/);
    assert.equal(await chat(url, 'claude-x'), 200);
    assert.equal(await chat(url, 'gpt-4o'), 200);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
  });

  test('a SIGTERM while it starts is kept: once listening it drains and exits 0, not killed by the signal', async () => {
    const sub = mkdtempSync(join(dir, 'early-'));
    const config = join(sub, 'sluice.yaml');
    writeFileSync(config, ROUTES_GPT);
    const child = spawnCli(['start', '--config', config, '--port', '0'], { cwd: sub });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    // fastify's own "Server listening at" line comes from inside listen(), before the
    // gateway's own signal handlers are in place.
    await waitForLine(child, /Server listening at/);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
    assert.match(output, /"msg":"stopped"/);
  });

  test('reload.watch reloads when the file changes (an editor renaming a new file over it included)', async () => {
    const sub = mkdtempSync(join(dir, 'watch-'));
    const config = join(sub, 'sluice.yaml');
    writeFileSync(config, `reload: { watch: true, debounce: 50ms }\n${ROUTES_GPT}`);
    const { child, url } = await startCli(config);
    assert.equal(await chat(url, 'claude-x'), 404);
    const reloaded = waitForLine(child, /config reloaded/);
    // Written aside and renamed over the file, as editors and ConfigMap updates do.
    writeFileSync(join(sub, 'next.yaml'), `reload: { watch: true, debounce: 50ms }\n${ROUTES_BOTH}`);
    renameSync(join(sub, 'next.yaml'), config);
    await reloaded;
    assert.equal(await chat(url, 'claude-x'), 200);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
  });
});
