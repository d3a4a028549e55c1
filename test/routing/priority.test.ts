import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { routePriority } from '../../src/routing/priority.js';

const compile = (queue: Record<string, unknown>, global: Record<string, unknown> = {}) =>
  compileConfig(validateConfig({ providers: { p: { type: 'mock' } }, routing: { queue: global }, routes: [{ match: '*', queue, targets: [{ provider: 'p' }] }] }, 'test', {}), 'test').routes[0]!.queue;

test('the route, its endpoint and a header value add up; an absent or unlisted header adds nothing', () => {
  const q = compile({ priority: 5, priorityBy: { endpoint: { embeddings: -20 }, header: { name: 'X-Request-Type', values: { interactive: 10, batch: -30 } } } });
  assert.equal(routePriority(q, 'chat', {}), 5);
  assert.equal(routePriority(q, 'embeddings', {}), -15);
  assert.equal(routePriority(q, 'chat', { 'x-request-type': 'interactive' }), 15);
  assert.equal(routePriority(q, 'embeddings', { 'x-request-type': 'batch' }), -45);
  assert.equal(routePriority(q, 'chat', { 'x-request-type': 'other' }), 5);
  // Header values are matched exactly, as sent.
  assert.equal(routePriority(q, 'chat', { 'x-request-type': 'Interactive' }), 5);
});

test('the sum stays within -100..100, and a route without settings adds 0', () => {
  const q = compile({ priority: 100, priorityBy: { header: { name: 'x-t', values: { a: 100 } } } });
  assert.equal(routePriority(q, 'chat', { 'x-t': 'a' }), 100);
  const low = compile({ priority: -100, priorityBy: { endpoint: { chat: -100 } } });
  assert.equal(routePriority(low, 'chat', {}), -100);
  assert.equal(routePriority(compile({}), 'chat', { 'x-t': 'a' }), 0);
});

test('routing.queue sets the default a route inherits; a route setting priorityBy replaces it whole', () => {
  const inherited = compile({}, { priority: 3, priorityBy: { endpoint: { chat: 2 } } });
  assert.equal(routePriority(inherited, 'chat', {}), 5);
  const replaced = compile({ priorityBy: { header: { name: 'x-t', values: { a: 1 } } } }, { priority: 3, priorityBy: { endpoint: { chat: 2 } } });
  assert.equal(routePriority(replaced, 'chat', { 'x-t': 'a' }), 4);
});

test('bad settings are refused with their path', () => {
  assert.throws(() => compile({ priority: 101 }), (e: unknown) => e instanceof ConfigError && /routes\[0\]\.queue\.priority/.test(e.message));
  assert.throws(() => compile({ priorityBy: { endpoint: { images: 1 } } }), (e: unknown) => e instanceof ConfigError && /priorityBy\.endpoint/.test(e.message));
  assert.throws(() => compile({ priorityBy: { header: { name: 'bad header', values: {} } } }), (e: unknown) => e instanceof ConfigError && /must be an HTTP header name/.test(e.message));
});
