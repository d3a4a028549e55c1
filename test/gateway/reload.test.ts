import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compileConfig, type RuntimeConfig } from '../../src/config/compile.js';
import { loadConfigFile, validateConfig } from '../../src/config/load.js';
import { restartOnly, restartOnlySections } from '../../src/gateway/reload.js';
import { Backend } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { metricValue, waitFor } from '../helpers/wait.js';

// Issue 20: hot reload. A new config is built beside the running one and swapped in; requests
// in flight finish on the old one; what is unchanged carries over; a bad config is refused.

const KEY_A = 'sk-old-key-aaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'sk-new-key-bbbbbbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

/** The config as startGateway compiles it (port 0, usage off), so a reload compares equal where unchanged. */
function compiled(raw: Record<string, unknown>): RuntimeConfig {
  return compileConfig(validateConfig({ usage: { enabled: false }, ...raw, server: { ...(raw.server as object | undefined), port: 0 } }, 'test', {}), 'test');
}

function chatAnswer(res: ServerResponse, content: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
}

/**
 * An OpenAI-shaped provider that accepts only the keys in `accepted` (401 otherwise, as a
 * provider does for a revoked key), records the key of every call, and holds calls whose
 * prompt is "hold" until released.
 */
class KeyedUpstream extends Backend {
  readonly accepted = new Set<string>();
  readonly keys: string[] = [];
  readonly #held: ServerResponse[] = [];

  constructor() {
    super('keyed', (incoming: IncomingMessage, res: ServerResponse, body: string) => {
      const key = String(incoming.headers.authorization ?? '').replace(/^Bearer /, '');
      this.keys.push(key);
      if (!this.accepted.has(key)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
        return;
      }
      if (body.includes('"hold"')) this.#held.push(res);
      else chatAnswer(res, `answered with ${key.slice(3, 6)}`);
    });
  }

  get held(): number {
    return this.#held.length;
  }

  release(): void {
    for (const res of this.#held.splice(0)) chatAnswer(res, 'released');
  }
}

const upstreamConfig = (url: string, apiKey: string) => ({ type: 'openai', baseUrl: `${url}/v1`, apiKey });

test('every section of the compiled config is either reloadable or restart-only (a new section must be classified)', () => {
  // Applied by a reload: each is rebuilt into the next config version (gateway/version.ts).
  const reloadable = ['source', 'routing', 'auth', 'keys', 'tiers', 'ipLimits', 'prices', 'cache', 'providers', 'routes', 'services', 'redactor'];
  const sections = Object.keys(compiled({}));
  for (const s of sections) assert.ok(reloadable.includes(s) !== restartOnlySections.includes(s), `${s}: ${reloadable.includes(s) ? 'both reloadable and restart-only' : 'neither reloadable nor restart-only'}`);
  assert.deepEqual(restartOnly(compiled({}), compiled({ server: { bodyLimit: '1kb' }, reload: { watch: true } })), ['server', 'reload']);
});

describe('hot reload', () => {
  const open: { close(): Promise<unknown> }[] = [];
  after(async () => {
    for (const o of open.reverse()) await o.close();
  });

  async function gatewayWith(raw: Record<string, unknown>, load?: () => RuntimeConfig): Promise<TestGateway> {
    const gw = await startGateway(raw, {}, load === undefined ? {} : { load });
    open.push(gw);
    return gw;
  }

  test('a provider key rotated and a route added under load: no request fails, the in-flight one finishes on the old key', async () => {
    const upstream = await new KeyedUpstream().start();
    open.push({ close: () => upstream.stop() });
    upstream.accepted.add(KEY_A);
    upstream.accepted.add(KEY_B);
    const v1 = { providers: { up: upstreamConfig(upstream.url, KEY_A), mock: { type: 'mock' } }, routes: [{ match: 'gpt-*', targets: [{ provider: 'up' }] }] };
    const gw = await gatewayWith(v1);
    assert.equal((await req.chat(gw, req.chatBody('claude-x', 'hi'))).status, 404, 'no route for claude-* before the reload');

    // Load: four clients in a loop until told to stop; every answer's status is kept.
    const statuses: number[] = [];
    const pending = new Map<Promise<void>, number>();
    let epoch = 1;
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        const started = epoch;
        const p = req.chat(gw, req.chatBody('gpt-4o', 'load')).then((r) => {
          statuses.push(r.status);
        });
        pending.set(p, started);
        await p;
        pending.delete(p);
      }
    };
    const clients = [client(), client(), client(), client()];
    await waitFor(() => statuses.length >= 20, 'load before the reload');

    // A request in flight across the reload, held by the provider.
    const held = req.chat(gw, req.chatBody('gpt-4o', 'hold'));
    await waitFor(() => upstream.held === 1, 'the held request to reach the provider');

    const outcome = await gw.gateway.reload(compiled({ ...v1, providers: { ...v1.providers, up: upstreamConfig(upstream.url, KEY_B) }, routes: [...v1.routes, { match: 'claude-*', targets: [{ provider: 'mock' }] }] }));
    epoch = 2;
    assert.equal(outcome.ok, true, outcome.error);
    assert.equal(outcome.version, 2);
    assert.deepEqual(outcome.providers, { kept: ['mock'], added: [], changed: ['up'], removed: [] });
    assert.equal(gw.gateway.version.id, 2);

    // Once every request that started before the swap has ended, the old key is revoked at
    // the provider: from then on a request with it would fail.
    await Promise.all([...pending].filter(([, e]) => e === 1).map(([p]) => p));
    upstream.accepted.delete(KEY_A);
    const revokedAt = upstream.keys.length;
    const before = statuses.length;
    await waitFor(() => statuses.length >= before + 40, 'load after the rotation');
    assert.equal((await req.chat(gw, req.chatBody('claude-x', 'hi'))).status, 200, 'the route the reload added serves');

    upstream.release();
    const heldReply = await held;
    assert.equal(heldReply.status, 200, 'the request in flight across the reload finished');
    assert.match(heldReply.text, /released/);
    stop = true;
    await Promise.all(clients);

    assert.deepEqual([...new Set(statuses)], [200], `every request under load succeeded (${statuses.length})`);
    assert.ok(upstream.keys.slice(revokedAt).every((k) => k === KEY_B), 'after the rotation, only the new key is sent');
    assert.ok(upstream.keys.includes(KEY_A) && upstream.keys.includes(KEY_B));
  });

  test('a key added to a provider\'s pool by a reload under load (issue 21): no request fails, and both keys serve after it', async () => {
    const upstream = await new KeyedUpstream().start();
    open.push({ close: () => upstream.stop() });
    upstream.accepted.add(KEY_A);
    upstream.accepted.add(KEY_B);
    const v1 = { providers: { up: upstreamConfig(upstream.url, KEY_A) }, routes: [{ match: 'gpt-*', targets: [{ provider: 'up' }] }] };
    const gw = await gatewayWith(v1);
    const statuses: number[] = [];
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) statuses.push((await req.chat(gw, req.chatBody('gpt-4o', 'load'))).status);
    };
    const clients = [client(), client(), client()];
    await waitFor(() => statuses.length >= 20, 'load before the reload');
    const outcome = await gw.gateway.reload(compiled({ ...v1, providers: { up: { ...upstreamConfig(upstream.url, KEY_A), apiKey: [KEY_A, KEY_B] } } }));
    assert.equal(outcome.ok, true, outcome.error);
    const from = upstream.keys.length;
    await waitFor(() => upstream.keys.length >= from + 40, 'load after the reload');
    stop = true;
    await Promise.all(clients);
    assert.deepEqual([...new Set(statuses)], [200], `every request succeeded (${statuses.length})`);
    const after = upstream.keys.slice(from);
    assert.ok(after.includes(KEY_A) && after.includes(KEY_B), 'the pool spreads over both keys after the reload');
  });

  test('unchanged targets keep their breaker and the cache its answers; a changed provider starts afresh', async () => {
    const failing = await new Backend('failing', (_r, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"boom"}}');
    }).start();
    open.push({ close: () => failing.stop() });
    const v1 = {
      providers: { bad: upstreamConfig(failing.url, KEY_A), mock: { type: 'mock' } },
      routes: [
        { match: 'bad-*', retry: { attempts: 0 }, breaker: { consecutiveFailures: 2, openFor: '10m' }, targets: [{ provider: 'bad' }] },
        { match: 'cached-*', cache: { ttl: '10m' }, targets: [{ provider: 'mock' }] },
      ],
    };
    const gw = await gatewayWith(v1);
    for (let i = 0; i < 2; i++) await req.chat(gw, req.chatBody('bad-1', 'x'));
    const hitsBefore = failing.hits;
    const open1 = await req.chat(gw, req.chatBody('bad-1', 'x'));
    assert.equal(failing.hits, hitsBefore, 'the breaker is open: the provider is not called');
    assert.equal(req.cacheOf(await req.chat(gw, req.chatBody('cached-1', 'same', { temperature: 0 }))), 'miss');
    assert.equal(req.cacheOf(await req.chat(gw, req.chatBody('cached-1', 'same', { temperature: 0 }))), 'hit');

    // An unrelated route added: the breaker stays open, the cached answer stays.
    const v2 = { ...v1, routes: [...v1.routes, { match: 'other-*', targets: [{ provider: 'mock' }] }] };
    assert.equal((await gw.gateway.reload(compiled(v2))).ok, true);
    const open2 = await req.chat(gw, req.chatBody('bad-1', 'x'));
    assert.equal(open2.status, open1.status);
    assert.equal(failing.hits, hitsBefore, 'still open after the reload: breaker state carried over');
    assert.equal(req.cacheOf(await req.chat(gw, req.chatBody('cached-1', 'same', { temperature: 0 }))), 'hit', 'cache carried over');

    // The failing provider's key changed: a new adapter and a closed breaker.
    const v3 = { ...v2, providers: { ...v2.providers, bad: upstreamConfig(failing.url, KEY_B) } };
    const outcome = await gw.gateway.reload(compiled(v3));
    assert.deepEqual(outcome.providers?.changed, ['bad']);
    await req.chat(gw, req.chatBody('bad-1', 'x'));
    assert.equal(failing.hits, hitsBefore + 1, 'a changed provider starts with a closed breaker');
  });

  test("a removed provider's pool is closed once the old version retires; the kept one's stays", async () => {
    const one = await new Backend('one', (_r, res) => chatAnswer(res, 'one')).start();
    const two = await new Backend('two', (_r, res) => chatAnswer(res, 'two')).start();
    open.push({ close: () => one.stop() }, { close: () => two.stop() });
    const v1 = { providers: { one: upstreamConfig(one.url, KEY_A), two: upstreamConfig(two.url, KEY_A) }, routes: [{ match: 'one-*', targets: [{ provider: 'one' }] }, { match: 'two-*', targets: [{ provider: 'two' }] }] };
    const gw = await gatewayWith(v1);
    assert.equal((await req.chat(gw, req.chatBody('one-x', 'hi'))).status, 200);
    assert.equal((await req.chat(gw, req.chatBody('two-x', 'hi'))).status, 200);
    const outcome = await gw.gateway.reload(compiled({ providers: { one: v1.providers.one }, routes: [{ match: 'one-*', targets: [{ provider: 'one' }] }] }));
    assert.deepEqual(outcome.providers, { kept: ['one'], added: [], changed: [], removed: ['two'] });
    await gw.gateway.retireReplaced();
    const logs = gw.logs.filter((l) => l.includes('no longer uses'));
    assert.equal(logs.length, 1, gw.logs.join('\n'));
    assert.match(logs[0]!, /"pools":2/, "provider two's pools (answers and streams) closed");
    assert.equal((await req.chat(gw, req.chatBody('one-x', 'hi'))).status, 200, "the kept provider's pool still serves");
    assert.equal((await req.chat(gw, req.chatBody('two-x', 'hi'))).status, 404, 'the removed route is gone');
  });

  test('a broken or restart-only config is refused through the admin API and SIGHUP alike; the old config keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-'));
    const file = join(dir, 'sluice.yaml');
    const good = `usage: { enabled: false }\nserver: { port: 0 }\nadmin: { tokens: [${ADMIN}, { name: watcher, token: ${VIEWER}, role: viewer }] }\ndatabase: { embedded: memory }\nproviders:\n  mock: { type: mock }\nroutes:\n  - match: "gpt-*"\n    targets: [{ provider: mock }]\n`;
    writeFileSync(file, good);
    const load = (): RuntimeConfig => compileConfig(loadConfigFile(file, {}), file);
    const gw = await gatewayWith({ admin: { tokens: [ADMIN, { name: 'watcher', token: VIEWER, role: 'viewer' }] }, database: { embedded: 'memory' }, providers: { mock: { type: 'mock' } }, routes: [{ match: 'gpt-*', targets: [{ provider: 'mock' }] }] }, load);
    const reload = (token: string) => req.sendJson(gw, '/admin/config/reload', { method: 'POST', bearer: token });

    const viewer = await reload(VIEWER);
    assert.equal(viewer.status, 403, 'a viewer cannot reload');

    // The source differs ("test" vs the file) but only the source: the reload succeeds.
    writeFileSync(file, `${good}  - match: "claude-*"\n    targets: [{ provider: mock }]\n`);
    const ok = await reload(ADMIN);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.version, 2);
    assert.equal((await req.chat(gw, req.chatBody('claude-x', 'hi'))).status, 200);

    writeFileSync(file, `${good}  - match: "x-*"\n    targets: [{ provider: nope }]\n`);
    const broken = await reload(ADMIN);
    assert.equal(broken.status, 422);
    assert.equal(broken.json.error?.code, 'SLUICE_ERR_RELOAD_REFUSED');
    assert.match(String(broken.json.error?.message), /version 2 keeps serving: invalid configuration in .*: routes\[1\]\.targets\[0\]\.provider: unknown provider "nope"/);

    writeFileSync(file, good.replace('server: { port: 0 }', 'server: { port: 0, bodyLimit: 1kb }'));
    const restart = await reload(ADMIN);
    assert.equal(restart.status, 422);
    assert.match(String(restart.json.error?.message), /settings that need a restart changed: server/);

    const ready = await req.sendJson<{ reload: { version: number; lastAttempt: { ok: boolean; error: string } } }>(gw, '/ready');
    assert.equal(ready.json.reload.version, 2);
    assert.equal(ready.json.reload.lastAttempt.ok, false);
    assert.match(ready.json.reload.lastAttempt.error, /server/);
    assert.equal((await req.chat(gw, req.chatBody('claude-x', 'hi'))).status, 200, 'version 2 still serves');

    const metrics = (await req.send(gw, '/metrics')).text;
    assert.equal(metricValue(metrics, 'sluice_config_reloads_total', 'result="success"'), 1);
    assert.equal(metricValue(metrics, 'sluice_config_reloads_total', 'result="failure"'), 2);
    assert.equal(metricValue(metrics, 'sluice_config_version', ''), 2);

    const audit = await req.sendJson<{ data: { actor: string; action: string; status: number }[] }>(gw, '/admin/audit', { bearer: ADMIN });
    assert.deepEqual(
      audit.json.data.filter((e) => e.action === '/admin/config/reload').map((e) => [e.actor, e.status]),
      [
        ['token-1', 422],
        ['token-1', 422],
        ['token-1', 200],
        ['watcher', 403],
      ],
      'every reload attempt is audited, newest first',
    );
  });

  test('a reload without a source to read is refused, not a crash', async () => {
    const gw = await gatewayWith({ providers: { mock: { type: 'mock' } }, routes: [{ match: '*', targets: [{ provider: 'mock' }] }] });
    const outcome = await gw.gateway.reload();
    assert.equal(outcome.ok, false);
    assert.match(outcome.error ?? '', /no source to reload from/);
    assert.equal((await req.chat(gw, req.chatBody('any', 'hi'))).status, 200);
  });
});
