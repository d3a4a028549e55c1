import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { usageFromOpenAI } from '../../src/providers/usage.js';
import { usageFromAnthropic } from '../../src/providers/anthropic/response.js';
import { usageOf } from '../../src/providers/openai/types.js';
import { costUsd } from '../../src/tokens/cost.js';
import { PriceBook } from '../../src/tokens/prices.js';
import { estimateUsage, loadTokenizer } from '../../src/tokens/tokenizer.js';

describe('price arithmetic', () => {
  const gpt4o = { input: 2.5, output: 10, cachedInput: 1.25 };

  test('cached prompt tokens are part of the prompt, charged once at the cached price (LiteLLM #9812 charged them twice)', () => {
    // 1,000,000 prompt tokens of which 400,000 cached, 100,000 completion tokens:
    // 600,000 × $2.5/M + 400,000 × $1.25/M + 100,000 × $10/M = 1.5 + 0.5 + 1 = $3.00
    const usage = { promptTokens: 1_000_000, cachedPromptTokens: 400_000, completionTokens: 100_000, totalTokens: 1_100_000 };
    assert.equal(costUsd(usage, gpt4o), 3);
    // Charging the cached part on top of the full prompt would give 2.5 + 0.5 + 1 = $4.00.
    assert.notEqual(costUsd(usage, gpt4o), 4);
  });

  test('without a cached price, cached tokens cost the input price; no usage or no price costs 0', () => {
    const usage = { promptTokens: 2000, cachedPromptTokens: 1000, completionTokens: 1000, totalTokens: 3000 };
    assert.equal(costUsd(usage, { input: 1, output: 2 }), (2000 * 1 + 1000 * 2) / 1e6);
    assert.equal(costUsd(null, gpt4o), 0);
    assert.equal(costUsd(usage, null), 0);
  });

  test('a cached count larger than the prompt (a malformed report) is capped, never negative', () => {
    const usage = { promptTokens: 100, cachedPromptTokens: 500, completionTokens: 0, totalTokens: 100 };
    assert.equal(costUsd(usage, gpt4o), (100 * 1.25) / 1e6);
  });

  test('cached tokens are read from OpenAI (prompt_tokens_details) and Anthropic (cache_read_input_tokens, normalised into the prompt)', () => {
    assert.deepEqual(usageFromOpenAI({ prompt_tokens: 1200, completion_tokens: 30, total_tokens: 1230, prompt_tokens_details: { cached_tokens: 1024 } }), { promptTokens: 1200, cachedPromptTokens: 1024, completionTokens: 30, totalTokens: 1230 });
    assert.equal(usageFromOpenAI({ prompt_tokens: 5, completion_tokens: 1 })?.cachedPromptTokens, 0);
    // Anthropic's input_tokens excludes cache reads: the prompt is their sum.
    const anthropic = usageOf(usageFromAnthropic({ input_tokens: 12, cache_read_input_tokens: 2048, output_tokens: 9 })!);
    assert.deepEqual(anthropic, { promptTokens: 2060, cachedPromptTokens: 2048, completionTokens: 9, totalTokens: 2069 });
  });
});

describe('the price book', () => {
  test('the config prices override and extend the bundled table; dated snapshots find their model', () => {
    const book = new PriceBook({ 'gpt-4o': { input: 1, output: 2, cachedInput: 0.5 }, 'my-model': { input: 3, output: 4 } });
    assert.deepEqual(book.lookup('gpt-4o-2024-08-06'), { input: 1, output: 2, cachedInput: 0.5 });
    assert.deepEqual(book.lookup('my-model'), { input: 3, output: 4 });
    assert.equal(book.lookup('gpt-4o-mini')?.input, 0.15, 'gpt-4o-mini keeps its own bundled price');
    assert.equal(new PriceBook().lookup('gpt-4o')?.input, 2.5);
    assert.equal(book.lookup('unknown'), null);
  });

  test('a target without its own price gets the config price at compile time', () => {
    const raw = { prices: { 'gpt-4o': { input: 7, output: 8 } }, providers: { p: { type: 'mock' } }, routes: [{ match: 'x', targets: [{ provider: 'p', model: 'gpt-4o' }, { provider: 'p', model: 'gpt-4o', price: { input: 1, output: 1 } }, { provider: 'p' }] }] };
    const config = compileConfig(validateConfig(raw, 'test', {}), 'test');
    assert.deepEqual(config.routes[0]!.targets.map((t) => t.price), [{ input: 7, output: 8 }, { input: 1, output: 1 }, null]);
  });
});

describe('token estimates when the upstream reports none', () => {
  test('prompt counted with the tokenizer plus message framing; a JSON answer counts its content', async () => {
    const count = await loadTokenizer();
    const body = { model: 'm', messages: [{ role: 'user', content: 'Hello world' }] };
    const answer = JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'Hello there, friend' } }] });
    const u = estimateUsage('chat', body, { kind: 'json', status: 200, body: answer, usage: null }, count);
    // "Hello world" is 2 tokens, + 3 framing for the message + 3 priming the reply.
    assert.equal(u.promptTokens, 8);
    assert.equal(u.completionTokens, 4);
    assert.equal(u.totalTokens, 12);
    assert.equal(estimateUsage('embeddings', { model: 'm', input: ['Hello world', 'Hello'] }, null, count).promptTokens, 3);
  });
});
