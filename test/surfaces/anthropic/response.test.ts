import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageFromAnthropic } from '../../../src/providers/anthropic/response.js';
import { anthropicUsageFromOpenAI } from '../../../src/surfaces/anthropic/response.js';

test('cache writes reach an Anthropic client as cache_creation_input_tokens, not as plain input', () => {
  // Anthropic's usage → the canonical (OpenAI) form the pipeline keeps → Anthropic's again.
  const upstream = { input_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 100 }, output_tokens: 50 };
  const canonical = usageFromAnthropic(upstream);
  assert.equal(canonical?.prompt_tokens, 1320);
  assert.deepEqual(anthropicUsageFromOpenAI(canonical), upstream);
});

test('without cache writes the answer has no cache_creation split, and cached reads stay apart', () => {
  assert.deepEqual(anthropicUsageFromOpenAI({ prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 40 } }), {
    input_tokens: 60,
    output_tokens: 7,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 40,
  });
  assert.deepEqual(anthropicUsageFromOpenAI(undefined), { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
});
