import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { usageFromOpenAI } from '../../src/providers/usage.js';
import { usageFromAnthropic } from '../../src/providers/anthropic/response.js';
import { usageOf } from '../../src/providers/openai/types.js';
import { usageFromGemini } from '../../src/providers/gemini/response.js';
import { AnthropicStreamTranslator } from '../../src/providers/anthropic/stream.js';
import { fixtureText, translateAll } from '../providers/helpers.js';
import { costUsd } from '../../src/tokens/cost.js';
import { PriceBook, PRICES_AS_OF } from '../../src/tokens/prices.js';
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

/** Equal to the cent's billionth: the sums below are exact in decimal, not always in binary. */
function assertUsd(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);
}

describe('cache writes and reasoning tokens (issue 18; LiteLLM #11364, #31714)', () => {
  // Claude Sonnet 4.5 on platform.claude.com/docs/en/about-claude/pricing (checked 2026-12-03):
  // input $3, 5-minute cache writes $3.75 (1.25×), 1-hour cache writes $6 (2×), cache hits $0.30 (0.1×), output $15.
  const sonnet = new PriceBook().lookup('claude-sonnet-4-5-20250929')!;

  test('the bundled Anthropic prices are the published ones, multipliers included', () => {
    assert.deepEqual(sonnet, { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 });
    for (const [model, input] of [['claude-opus-4-5-20251101', 5], ['claude-opus-4-1-20250805', 15], ['claude-opus-4-20250514', 15], ['claude-haiku-4-5-20251001', 1]] as const) {
      const p = new PriceBook().lookup(model)!;
      assert.equal(p.input, input, model);
      assertUsd(p.cacheWrite!, input * 1.25);
      assertUsd(p.cacheWrite1h!, input * 2);
      assertUsd(p.cachedInput!, input * 0.1);
    }
    // Claude Haiku 3 is the exception the page lists: $0.30 for 5-minute writes is 1.2× its $0.25.
    assert.equal(new PriceBook().lookup('claude-3-haiku-20240307')?.cacheWrite, 0.3);
    assert.equal(PRICES_AS_OF, '2026-12-03');
  });

  test('an Anthropic answer with 5-minute and 1-hour cache writes, cache reads and thinking, priced part by part', async () => {
    // The stream reports input_tokens 1,000 (uncached), cache_read_input_tokens 20,000,
    // cache_creation_input_tokens 10,000 = 4,000 (5m) + 6,000 (1h), output_tokens 500 (thinking included).
    const t = new AnthropicStreamTranslator({ provider: 'claude', includeUsage: true, created: 1_700_000_000, model: 'claude-sonnet-4-5' });
    const { chunks, error } = await translateAll(t, fixtureText('anthropic/stream-thinking-cache-write.sse'));
    assert.equal(error, null);
    const usage = t.usage()!;
    // Normalised to OpenAI's convention: the prompt is 1,000 + 20,000 + 10,000 = 31,000.
    assert.deepEqual(usage, { promptTokens: 31_000, cachedPromptTokens: 20_000, cacheWriteTokens: 4000, cacheWrite1hTokens: 6000, completionTokens: 500, totalTokens: 31_500 });
    // The client's usage chunk carries the writes too (all writes, then the 1-hour part).
    assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 31_000, completion_tokens: 500, total_tokens: 31_500, prompt_tokens_details: { cached_tokens: 20_000, cache_write_tokens: 10_000, cache_write_1h_tokens: 6000 } });
    //   1,000 × $3/M     = $0.003
    // + 4,000 × $3.75/M  = $0.015
    // + 6,000 × $6/M     = $0.036
    // + 20,000 × $0.30/M = $0.006
    // + 500 × $15/M      = $0.0075
    //                    = $0.0675
    assertUsd(costUsd(usage, sonnet), 0.0675);
    // Billing the 10,000 written tokens at the plain input price (the LiteLLM bug) gives
    // 0.003 + 0.03 + 0.006 + 0.0075 = $0.0465: $0.021 short.
    assertUsd(costUsd({ ...usage, cacheWriteTokens: 0, cacheWrite1hTokens: 0 }, sonnet), 0.0465);
  });

  test('cache_creation_input_tokens without the split are 5-minute writes; the split alone still counts', () => {
    const total = usageOf(usageFromAnthropic({ input_tokens: 10, cache_creation_input_tokens: 2000, output_tokens: 5 })!);
    assert.deepEqual(total, { promptTokens: 2010, cachedPromptTokens: 0, cacheWriteTokens: 2000, completionTokens: 5, totalTokens: 2015 });
    // 10 × $3/M + 2,000 × $3.75/M + 5 × $15/M = 0.00003 + 0.0075 + 0.000075 = $0.007605
    assertUsd(costUsd(total, sonnet), 0.007605);
    const split = usageOf(usageFromAnthropic({ input_tokens: 10, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 }, output_tokens: 5 })!);
    assert.deepEqual(split, { promptTokens: 1010, cachedPromptTokens: 0, cacheWrite1hTokens: 1000, completionTokens: 5, totalTokens: 1015 });
  });

  test('without cache-write prices, writes cost the input price; a 1-hour write falls back to the 5-minute price', () => {
    const usage = { promptTokens: 3000, cachedPromptTokens: 0, cacheWriteTokens: 1000, cacheWrite1hTokens: 1000, completionTokens: 0, totalTokens: 3000 };
    assertUsd(costUsd(usage, { input: 1, output: 2 }), (3000 * 1) / 1e6);
    // 1,000 × $1/M + 1,000 × $1.5/M + 1,000 × $1.5/M = $0.004
    assertUsd(costUsd(usage, { input: 1, output: 2, cacheWrite: 1.5 }), 0.004);
    // Parts that add up past the prompt (a malformed report) are capped at the prompt.
    assertUsd(costUsd({ ...usage, promptTokens: 1500 }, { input: 1, output: 2, cacheWrite: 1.5, cacheWrite1h: 3 }), (1000 * 3 + 500 * 1.5) / 1e6);
  });

  test('OpenAI reasoning tokens are recorded and billed as output, once (they are part of completion_tokens)', () => {
    // o3 on openai.com/api/pricing: input $2, cached input $0.50, output $8.
    const o3 = new PriceBook().lookup('o3-2025-04-16')!;
    assert.deepEqual(o3, { input: 2, output: 8, cachedInput: 0.5 });
    const usage = usageFromOpenAI({ prompt_tokens: 10_000, completion_tokens: 3500, total_tokens: 13_500, prompt_tokens_details: { cached_tokens: 4000 }, completion_tokens_details: { reasoning_tokens: 3000 } })!;
    assert.deepEqual(usage, { promptTokens: 10_000, cachedPromptTokens: 4000, completionTokens: 3500, totalTokens: 13_500, reasoningTokens: 3000 });
    // 6,000 × $2/M + 4,000 × $0.50/M + 3,500 × $8/M = 0.012 + 0.002 + 0.028 = $0.042
    // (adding the 3,000 reasoning tokens on top of the 3,500 would wrongly give $0.066).
    assertUsd(costUsd(usage, o3), 0.042);
    // An OpenAI-compatible upstream reporting cache writes (OpenRouter's cache_write_tokens) is read too.
    assert.equal(usageFromOpenAI({ prompt_tokens: 100, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 80 } })?.cacheWriteTokens, 80);
  });

  test('Gemini: cachedContentTokenCount is the cached part of the prompt, thoughtsTokenCount reasoning billed as output', () => {
    const usage = usageOf(usageFromGemini({ promptTokenCount: 5000, cachedContentTokenCount: 4000, candidatesTokenCount: 200, thoughtsTokenCount: 800, totalTokenCount: 6000 })!);
    assert.deepEqual(usage, { promptTokens: 5000, cachedPromptTokens: 4000, completionTokens: 1000, totalTokens: 6000, reasoningTokens: 800 });
    // gemini-2.5-flash at input $0.30, cached $0.03 (a config override), output $2.50:
    // 1,000 × $0.30/M + 4,000 × $0.03/M + 1,000 × $2.50/M = 0.0003 + 0.00012 + 0.0025 = $0.00292
    assertUsd(costUsd(usage, { input: 0.3, output: 2.5, cachedInput: 0.03 }), 0.00292);
  });

  test('config prices accept cacheWrite and cacheWrite1h, for the price book and a target', () => {
    const raw = { prices: { 'my-claude': { input: 2, output: 10, cachedInput: 0.2, cacheWrite: 2.5, cacheWrite1h: 4 } }, providers: { p: { type: 'mock' } }, routes: [{ match: 'x', targets: [{ provider: 'p', model: 'my-claude' }, { provider: 'p', model: 'y', price: { input: 1, output: 1, cacheWrite: 9 } }] }] };
    const config = compileConfig(validateConfig(raw, 'test', {}), 'test');
    assert.deepEqual(config.routes[0]!.targets.map((t) => t.price), [{ input: 2, output: 10, cachedInput: 0.2, cacheWrite: 2.5, cacheWrite1h: 4 }, { input: 1, output: 1, cacheWrite: 9 }]);
    assert.throws(() => validateConfig({ ...raw, prices: { m: { input: 1, output: 1, cacheWrite: -1 } } }, 'test', {}), /cacheWrite/);
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

  test('a Responses API answer passed through without usage (issue 18) counts its output texts and call arguments', async () => {
    const count = await loadTokenizer();
    const body = { model: 'm', messages: [{ role: 'user', content: 'Hello world' }] };
    const answer = JSON.stringify({ object: 'response', output: [{ type: 'reasoning', summary: [] }, { type: 'message', content: [{ type: 'output_text', text: 'Hello there, friend' }] }, { type: 'function_call', arguments: 'Hello' }], usage: null });
    assert.equal(estimateUsage('chat', body, { kind: 'json', status: 200, body: answer, usage: null, native: 'openai-responses' }, count).completionTokens, 5);
  });
});
