import type { Usage } from './types.js';

/**
 * Reads an OpenAI-shaped `usage` object; null when absent or malformed. Besides OpenAI's own
 * fields (`prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`)
 * it reads the cache-write counts some OpenAI-compatible upstreams report and Sluice writes when
 * it translates an Anthropic answer: `prompt_tokens_details.cache_write_tokens` (all writes, as
 * OpenRouter reports them) and `prompt_tokens_details.cache_write_1h_tokens` (the 1-hour part).
 */
export function usageFromOpenAI(value: unknown): Usage | null {
  if (typeof value !== 'object' || value === null) return null;
  const u = value as Record<string, unknown>;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : null;
  if (prompt === null) return null;
  const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const total = typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion;
  const usage: Usage = { promptTokens: prompt, cachedPromptTokens: cachedTokensOf(u.prompt_tokens_details), completionTokens: completion, totalTokens: total };
  // The optional counts are set only when non-zero: absent means 0 (see Usage).
  const writes = countOf(u.prompt_tokens_details, 'cache_write_tokens');
  const writes1h = Math.min(countOf(u.prompt_tokens_details, 'cache_write_1h_tokens'), writes);
  if (writes - writes1h > 0) usage.cacheWriteTokens = writes - writes1h;
  if (writes1h > 0) usage.cacheWrite1hTokens = writes1h;
  const reasoning = countOf(u.completion_tokens_details, 'reasoning_tokens');
  if (reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

/** `prompt_tokens_details.cached_tokens`: the part of `prompt_tokens` read from the prompt cache. */
export function cachedTokensOf(details: unknown): number {
  return countOf(details, 'cached_tokens');
}

/** A non-negative count in a `*_details` object; 0 when absent or malformed. */
function countOf(details: unknown, key: string): number {
  if (typeof details !== 'object' || details === null) return 0;
  const n = (details as Record<string, unknown>)[key];
  return typeof n === 'number' && n > 0 ? n : 0;
}
