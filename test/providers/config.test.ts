import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANTHROPIC_VERSION, anthropicProviderSchema, compileAnthropicProvider, DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic/config.js';
import { compileGeminiProvider, GEMINI_BASE_URL, geminiProviderSchema } from '../../src/providers/gemini/config.js';
import { validateConfig } from '../../src/config/load.js';
import { compileOpenAIProvider, openaiProviderSchema } from '../../src/providers/openai/config.js';
import { azureOpenAIProviderSchema, compileAzureOpenAIProvider } from '../../src/providers/azure/config.js';
import { configSecrets } from '../../src/config/secrets.js';

describe('provider config fragments', () => {
  test('apiKey: one key or a list (a key pool, issue 21); an empty list or the same key twice is refused; every key is a secret', () => {
    const one = compileGeminiProvider('g', geminiProviderSchema.parse({ type: 'gemini', apiKey: 'AIza-one' }));
    assert.deepEqual(one.apiKeys.map((k) => k.reveal()), ['AIza-one']);
    const pool = compileAnthropicProvider('c', anthropicProviderSchema.parse({ type: 'anthropic', apiKey: ['sk-ant-1', 'sk-ant-2'] }));
    assert.deepEqual(pool.apiKeys.map((k) => k.reveal()), ['sk-ant-1', 'sk-ant-2']);
    assert.equal(pool.apiKey?.reveal(), 'sk-ant-1');
    assert.equal(JSON.stringify(pool).includes('sk-ant'), false);
    assert.deepEqual(compileGeminiProvider('g', geminiProviderSchema.parse({ type: 'gemini' })).apiKeys, []);
    for (const bad of [[], ['k1', 'k1'], ['']]) {
      const r = anthropicProviderSchema.safeParse({ type: 'anthropic', apiKey: bad });
      assert.equal(r.success, false, JSON.stringify(bad));
      assert.equal(r.error!.issues[0]!.path[0], 'apiKey');
    }
    assert.deepEqual(
      configSecrets(validateConfig({ providers: { c: { type: 'anthropic', apiKey: ['sk-ant-pool-1', '${K2}'] } }, routes: [{ match: '*', targets: [{ provider: 'c' }] }] }, 'test', { K2: 'sk-ant-pool-2' })).filter((s) => s.startsWith('sk-ant')),
      ['sk-ant-pool-1', 'sk-ant-pool-2'],
    );
  });

  test('anthropic: defaults for base URL, version, max tokens and the shared HTTP fields', () => {
    const c = anthropicProviderSchema.parse({ type: 'anthropic', apiKey: 'sk-ant' });
    assert.equal(c.baseUrl, 'https://api.anthropic.com/v1');
    assert.equal(c.version, ANTHROPIC_VERSION);
    assert.equal(c.defaultMaxTokens, DEFAULT_MAX_TOKENS);
    assert.equal(c.connections, 128);
    assert.deepEqual(c.timeouts, { connect: 10_000, firstByte: 300_000, idle: 60_000 });
    const rt = compileAnthropicProvider('claude', c);
    assert.equal(rt.type, 'anthropic');
    assert.equal(rt.origin, 'https://api.anthropic.com');
    assert.equal(rt.basePath, '/v1');
    assert.equal(rt.apiKey?.reveal(), 'sk-ant');
    assert.equal(String(rt.apiKey), '[redacted]');
    assert.deepEqual(rt.timeouts, { connectMs: 10_000, firstByteMs: 300_000, idleMs: 60_000 });
  });

  test('anthropic: durations, numeric strings, and errors that name the key', () => {
    const c = anthropicProviderSchema.parse({ type: 'anthropic', defaultMaxTokens: '8192', timeouts: { connect: '2s', idle: '1m' }, connections: '8' });
    assert.equal(c.defaultMaxTokens, 8192);
    assert.equal(c.connections, 8);
    assert.deepEqual(c.timeouts, { connect: 2000, firstByte: 300_000, idle: 60_000 });
    const bad = anthropicProviderSchema.safeParse({ type: 'anthropic', defaultMaxTokens: 0, baseUrl: 'ftp://x', extra: 1, timeouts: { connect: 'soon' } });
    assert.equal(bad.success, false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    for (const p of ['defaultMaxTokens', 'baseUrl', 'timeouts.connect', '']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  });

  test('gemini: the Generative Language API by default', () => {
    const rt = compileGeminiProvider('gem', geminiProviderSchema.parse({ type: 'gemini', apiKey: 'AIza' }));
    assert.equal(GEMINI_BASE_URL, 'https://generativelanguage.googleapis.com/v1beta');
    assert.equal(rt.origin, 'https://generativelanguage.googleapis.com');
    assert.equal(rt.basePath, '/v1beta');
    assert.equal(rt.type, 'gemini');
  });

  test('responses (issue 18): native for OpenAI’s own API and Azure, translate for other OpenAI-compatible servers, unless told', () => {
    const openai = (p: Record<string, unknown>): string => compileOpenAIProvider('o', openaiProviderSchema.parse({ type: 'openai', ...p })).responses;
    assert.equal(openai({ baseUrl: 'https://api.openai.com/v1' }), 'native');
    assert.equal(openai({ baseUrl: 'https://api.groq.com/openai/v1' }), 'translate');
    assert.equal(openai({ baseUrl: 'http://127.0.0.1:11434/v1' }), 'translate');
    assert.equal(openai({ baseUrl: 'https://api.openai.com.example.net/v1' }), 'translate');
    assert.equal(openai({ baseUrl: 'https://api.openai.com/v1', responses: 'translate' }), 'translate');
    assert.equal(openai({ baseUrl: 'http://127.0.0.1:8000/v1', responses: 'native' }), 'native');
    assert.equal(compileAzureOpenAIProvider('a', azureOpenAIProviderSchema.parse({ type: 'azure-openai', baseUrl: 'https://r.openai.azure.com' })).responses, 'native');
    const bad = openaiProviderSchema.safeParse({ type: 'openai', baseUrl: 'https://api.openai.com/v1', responses: 'yes' });
    assert.equal(bad.success, false);
    assert.equal(bad.error!.issues[0]!.path[0], 'responses');
    assert.match(bad.error!.issues[0]!.message, /native.*translate/);
  });
});
