import type { Usage } from '../providers/types.js';

/** A price in USD per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
  /** Prompt tokens read from the provider's prompt cache; `input` when the model has no discount. */
  readonly cachedInput?: number | undefined;
}

/**
 * USD for a usage at a price in USD per million tokens. Cached prompt tokens are part of
 * `promptTokens` (OpenAI's convention), so they are taken out of the full-price part and
 * charged once, at the cached price — not on top of it (LiteLLM #9812 charged them twice).
 */
export function costUsd(usage: Usage | null, price: Price | null): number {
  if (usage === null || price === null) return 0;
  const cached = Math.min(usage.cachedPromptTokens, usage.promptTokens);
  const uncached = usage.promptTokens - cached;
  return (uncached * price.input + cached * (price.cachedInput ?? price.input) + usage.completionTokens * price.output) / 1_000_000;
}
