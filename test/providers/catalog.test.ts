/**
 * The provider contract, run against every entry of the provider catalog: its config schema
 * and compile step, and its adapter against the mock upstream (which speaks OpenAI, Anthropic,
 * Gemini and Azure shapes). A new provider gets a line in `upstreams` below; the first test
 * fails until it has one. Run: `node --test dist/test/providers/catalog.test.js`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { SluiceError } from '../../src/errors.js';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import type { MockOptions } from '../../src/mock/options.js';
import { compileProvider, createAdapter, providerEntries, providerSchema, providerTypes, type ProviderRuntime } from '../../src/providers/catalog.js';
import type { JsonObject, ProviderAdapter } from '../../src/providers/types.js';
import { UpstreamPools } from '../../src/upstream/pools.js';
import { asJson, call, collect, reassemble } from './helpers.js';

/** Where an upstream for the contract runs; `faults` are the server's, for the in-process mock. */
interface Upstream {
  readonly server: MockServer;
  readonly faults: Partial<MockOptions>;
}

/** Per provider type: its `providers.<name>` config pointed at the mock upstream. */
const upstreams: Readonly<Record<string, (up: Upstream) => JsonObject>> = {
  openai: (up) => ({ type: 'openai', baseUrl: up.server.url, apiKey: 'sk-contract-test' }),
  anthropic: (up) => ({ type: 'anthropic', baseUrl: up.server.url, apiKey: 'sk-ant-contract' }),
  gemini: (up) => ({ type: 'gemini', baseUrl: `${up.server.origin}/v1beta`, apiKey: 'AIza-contract' }),
  'azure-openai': (up) => ({ type: 'azure-openai', baseUrl: up.server.origin, apiKey: 'azure-contract' }),
  mock: (up) => ({ type: 'mock', ...up.faults }),
};

test('every catalog entry has a contract upstream, and every upstream an entry', () => {
  assert.deepEqual(Object.keys(upstreams).sort(), [...providerTypes].sort());
  assert.deepEqual(providerEntries.map((e) => e.type), providerTypes);
});

test('an unknown type names every catalog type (the message config tests pin)', () => {
  const r = configSchema.safeParse({ providers: { x: { type: 'nope' } } });
  assert.equal(r.success, false);
  assert.equal(r.error!.issues[0]!.message, `unknown provider type (expected one of: ${providerTypes.join(', ')})`);
  assert.equal(providerTypes.join(', '), 'openai, anthropic, gemini, azure-openai, mock');
});

const body = { model: 'contract-model', messages: [{ role: 'user', content: 'Tell me about rivers.' }] };

for (const entry of providerEntries) {
  describe(`provider contract: ${entry.type}`, () => {
    let mock: MockServer;
    let failing: MockServer;
    let pools: UpstreamPools;
    let runtime: ProviderRuntime;
    let adapter: ProviderAdapter;
    let broken: ProviderAdapter;
    const faults = { status: 429, retryAfter: 1 };

    before(async () => {
      mock = await startMockServer({ port: 0 });
      failing = await startMockServer({ port: 0, options: faults });
      pools = new UpstreamPools();
      runtime = compileProvider('contract', providerSchema.parse(upstreams[entry.type]!({ server: mock, faults: {} })));
      adapter = createAdapter(runtime, pools);
      broken = createAdapter(compileProvider('broken', providerSchema.parse(upstreams[entry.type]!({ server: failing, faults }))), pools);
    });
    after(async () => {
      await Promise.all([adapter.close(), broken.close()]);
      await pools.close();
      await Promise.all([mock.close(), failing.close()]);
    });

    test('config: the schema is strict and takes its own type only; compile keeps name and type', () => {
      const raw = upstreams[entry.type]!({ server: mock, faults: {} });
      assert.equal(entry.schema.safeParse(raw).success, true);
      assert.equal(entry.schema.safeParse({ ...raw, unknownKey: 1 }).success, false, 'unknown keys are refused');
      assert.equal(entry.schema.safeParse({ ...raw, type: 'something-else' }).success, false);
      assert.equal(runtime.type, entry.type);
      assert.equal(runtime.name, 'contract');
      assert.ok(runtime.healthCheck === null || runtime.healthCheck.intervalMs > 0);
      assert.equal(Object.isFrozen(runtime), false, 'compile returns plain data; compileConfig freezes the whole');
    });

    test('adapter: named and typed after its provider', () => {
      assert.equal(adapter.type, entry.type);
      assert.equal(adapter.name, 'contract');
    });

    test('chat: a whole OpenAI chat completion with usage', async () => {
      const r = await adapter.send(call({ body }));
      const c = asJson(r);
      assert.equal(c.object, 'chat.completion');
      const message = (c.choices as JsonObject[])[0]!.message as JsonObject;
      assert.equal(typeof message.content, 'string');
      assert.ok(r.kind === 'json' && r.usage !== null && r.usage.promptTokens > 0 && r.usage.completionTokens > 0);
    });

    test('stream: OpenAI chunks adding up to the same answer; usage counted, its chunk only when asked for', async () => {
      const whole = asJson(await adapter.send(call({ body })));
      const text = ((whole.choices as JsonObject[])[0]!.message as JsonObject).content;
      const s = await collect(await adapter.send(call({ body, stream: true })));
      assert.equal(s.error, null);
      assert.equal(reassemble(s.chunks).text, text);
      assert.equal(reassemble(s.chunks).finish, 'stop');
      assert.ok(s.chunks.every((ch) => ch.object === 'chat.completion.chunk'));
      assert.ok(s.chunks.every((ch) => (ch.choices as unknown[]).length > 0), 'no usage chunk the client did not ask for');
      assert.ok((s.stream.usage()?.completionTokens ?? 0) > 0, 'usage is known once the stream ended');
      // As the gateway calls it: includeUsage is true when the client's body asks for it.
      const asked = await collect(await adapter.send(call({ body: { ...body, stream_options: { include_usage: true } }, stream: true, includeUsage: true })));
      const last = asked.chunks.at(-1)!;
      assert.deepEqual(last.choices, []);
      assert.equal((last.usage as JsonObject).completion_tokens, asked.stream.usage()!.completionTokens);
    });

    test("errors: the upstream's status and Retry-After, as a SluiceError", async () => {
      await assert.rejects(broken.send(call({ body })), (e: unknown) => e instanceof SluiceError && e.status === 429 && e.headers?.['retry-after'] === '1');
    });
  });
}
