import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/observability/logger.js';

// docs/admin-api.md is the reference of every control-plane endpoint (issue 20): its `### METHOD
// /path` headings must be exactly the routes a gateway with every optional admin feature on
// registers (HEAD twins of GET routes aside).

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `METHOD /path` of each documented endpoint, path parameters written `{id}`. */
function documented(): string[] {
  const text = readFileSync(join(root, 'docs', 'admin-api.md'), 'utf8');
  return [...text.matchAll(/^### (GET|POST|PUT|PATCH|DELETE) (\/\S*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** The control plane's routes, as fastify's route tree lists them. */
async function registered(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-doc-'));
  const config = compileConfig(
    validateConfig(
      {
        server: { port: 0 },
        admin: { tokens: ['admin-token-0123456789abcdef'] },
        auth: { jwt: { secret: 'a-jwt-secret-of-at-least-32-characters', revocation: true } },
        database: { embedded: 'memory' },
        usage: { spoolDir: join(dir, 'spool') },
        providers: { m: { type: 'mock' } },
        routes: [{ match: 'm-*', cache: { ttl: '1m' }, targets: [{ provider: 'm' }] }],
      },
      'test',
      {},
    ),
    'test',
  );
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const gateway = await Gateway.create(config, { logger: createLogger('error', sink, config.redactor) });
  try {
    await gateway.app.ready();
    return routesOf(gateway.app.printRoutes({ commonPrefix: false }));
  } finally {
    await gateway.shutdown(1000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `METHOD /path` of every route in fastify's route tree, as printRoutes draws it: one node a
 * line, four columns of tree drawing a level, the node's path segment and its methods.
 */
function routesOf(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of (m[3] ?? '').split(', ')) if (method !== '' && method !== '-' && method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out;
}

test('docs/admin-api.md documents every control-plane route, and only those', async () => {
  const routes = await registered();
  const docs = documented();
  // The routes known when this test was written: a parser that saw nothing must not pass.
  for (const known of ['GET /health', 'GET /ready', 'GET /metrics', 'GET /admin/keys', 'POST /admin/keys/{id}/rotate', 'POST /admin/cache/purge', 'POST /admin/sessions/revoke', 'GET /admin/usage/requests', 'GET /admin/audit']) {
    assert.ok(routes.includes(known), `the gateway registers ${known}: ${routes.join(', ')}`);
  }
  for (const route of routes) assert.ok(docs.includes(route), `docs/admin-api.md has no "### ${route}" heading`);
  for (const doc of docs) assert.ok(routes.includes(doc), `docs/admin-api.md documents "${doc}", which the gateway does not register`);
  assert.equal(new Set(docs).size, docs.length, 'each endpoint is documented once');
});
