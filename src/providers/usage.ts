import type { Usage } from './types.js';

/** Reads an OpenAI-shaped `usage` object; null when absent or malformed. */
export function usageFromOpenAI(value: unknown): Usage | null {
  if (typeof value !== 'object' || value === null) return null;
  const u = value as Record<string, unknown>;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : null;
  if (prompt === null) return null;
  const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const total = typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion;
  return { promptTokens: prompt, cachedPromptTokens: cachedTokensOf(u.prompt_tokens_details), completionTokens: completion, totalTokens: total };
}

/** `prompt_tokens_details.cached_tokens`: the part of `prompt_tokens` read from the prompt cache. */
export function cachedTokensOf(details: unknown): number {
  if (typeof details !== 'object' || details === null) return 0;
  const cached = (details as Record<string, unknown>).cached_tokens;
  return typeof cached === 'number' && cached > 0 ? cached : 0;
}
