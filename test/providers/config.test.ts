import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANTHROPIC_VERSION, anthropicProviderSchema, compileAnthropicProvider, DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic/config.js';
import { compileGeminiProvider, GEMINI_BASE_URL, geminiProviderSchema } from '../../src/providers/gemini/config.js';

describe('provider config fragments', () => {
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
});
