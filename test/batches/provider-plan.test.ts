import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { planPassthrough, type PassthroughSources } from '../../src/batches/provider-plan.js';
import { parseInput } from '../../src/batches/input.js';
import { ANONYMOUS, type Principal } from '../../src/exchange/principal.js';
import { createAdapters } from '../../src/providers/catalog.js';
import { RouteTable } from '../../src/routing/table.js';
import { UpstreamPools } from '../../src/upstream/pools.js';

/** Which batches go to a provider's batch API (issue 21): decided from the config and the batch's lines, once. */

function sources(passthrough: boolean | string[]): PassthroughSources {
  const config = compileConfig(
    validateConfig(
      {
        providers: {
          up: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-0123456789abcdef' },
          claude: { type: 'anthropic', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-ant-0123456789' },
          local: { type: 'mock' },
        },
        routes: [
          { match: 'gpt-4o', targets: [{ provider: 'local' }, { provider: 'up', model: 'gpt-4o-2024-08-06' }] },
          { match: 'claude-*', targets: [{ provider: 'claude', price: { input: 2, output: 4 } }] },
          { match: 'mock-1', targets: [{ provider: 'local' }] },
        ],
        batches: { passthrough },
      },
      'test',
      {},
    ),
    'test',
  );
  const table = new RouteTable(config.routes);
  const adapters = createAdapters(config.providers, new UpstreamPools());
  return { providers: config.batches.passthrough, route: (m) => table.match(m), adapters: () => adapters, prices: () => config.prices };
}

function input(...models: string[]): ReturnType<typeof parseInput>['lines'] {
  const text = models.map((model, i) => JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [] } })).join('\n');
  return parseInput(Buffer.from(text), '/v1/chat/completions').lines;
}

describe('planPassthrough', () => {
  test('the first target of the route on a provider with a batch API, with its model and listed price', () => {
    const plan = planPassthrough(sources(true), '/v1/chat/completions', input('gpt-4o', 'gpt-4o'), ANONYMOUS);
    assert.deepEqual(plan, { provider: 'up', route: 'gpt-4o', model: 'gpt-4o', targetModel: 'gpt-4o-2024-08-06', price: { input: 2.5, output: 10, cachedInput: 1.25 } });
    const claude = planPassthrough(sources(['claude']), '/v1/messages', input('claude-haiku-4-5'), ANONYMOUS);
    assert.equal(claude?.provider, 'claude');
    assert.equal(claude?.targetModel, 'claude-haiku-4-5');
    assert.deepEqual(claude?.price, { input: 2, output: 4 }, "the target's own price");
  });

  test('line by line: pass-through off, a provider not listed, several models, no provider with a batch API, an endpoint it does not take, a key limited to other models', () => {
    assert.equal(planPassthrough(sources(false), '/v1/chat/completions', input('gpt-4o'), ANONYMOUS), null);
    assert.equal(planPassthrough(sources(['claude']), '/v1/chat/completions', input('gpt-4o'), ANONYMOUS), null);
    assert.equal(planPassthrough(sources(true), '/v1/chat/completions', input('gpt-4o', 'claude-x'), ANONYMOUS), null);
    assert.equal(planPassthrough(sources(true), '/v1/chat/completions', input('mock-1'), ANONYMOUS), null);
    assert.equal(planPassthrough(sources(true), '/v1/embeddings', input('claude-x'), ANONYMOUS), null);
    assert.equal(planPassthrough(sources(true), '/v1/chat/completions', input('no-route'), ANONYMOUS), null);
    const limited: Principal = { ...ANONYMOUS, models: ['claude-x'] };
    assert.equal(planPassthrough(sources(true), '/v1/chat/completions', input('gpt-4o'), limited), null);
    assert.notEqual(planPassthrough(sources(true), '/v1/chat/completions', input('claude-x'), limited), null);
  });

  test('batches.passthrough names providers that exist and have a batch API', () => {
    const bad = (): unknown =>
      validateConfig({ providers: { up: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }, local: { type: 'mock' } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }], batches: { passthrough: ['up', 'local', 'nope'] } }, 'test', {});
    assert.throws(bad, (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /batches\.passthrough\[1\].*has no batch API/);
      assert.match(e.message, /batches\.passthrough\[2\].*unknown provider "nope"/);
      assert.doesNotMatch(e.message, /passthrough\[0\]/);
      return true;
    });
  });
});
