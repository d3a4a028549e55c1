import type { Usage } from '../providers/types.js';

/** A price in USD per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
  /** Prompt tokens read from the provider's prompt cache; `input` when the model has no discount. */
  readonly cachedInput?: number | undefined;
  /** Prompt tokens written to the prompt cache with the default (5-minute) lifetime; `input` when absent. */
  readonly cacheWrite?: number | undefined;
  /** Prompt tokens written to the prompt cache with a 1-hour lifetime; `cacheWrite`, then `input`, when absent. */
  readonly cacheWrite1h?: number | undefined;
}

/**
 * USD for a usage at a price in USD per million tokens. The prompt is counted in OpenAI's
 * convention: cache reads and cache writes are parts of `promptTokens`, so each part is taken
 * out of the full-price remainder and charged once, at its own price — never on top (LiteLLM
 * #9812 charged cache reads twice; #11364 and #31714 billed cache writes at the input price).
 * Reasoning tokens are part of `completionTokens` and billed as output tokens, as every
 * provider bills them; they need no term of their own. A malformed report whose parts exceed
 * the prompt is capped, never negative.
 */
export function costUsd(usage: Usage | null, price: Price | null): number {
  if (usage === null || price === null) return 0;
  let rest = usage.promptTokens;
  const cached = Math.min(usage.cachedPromptTokens, rest);
  rest -= cached;
  const writes1h = Math.min(usage.cacheWrite1hTokens ?? 0, rest);
  rest -= writes1h;
  const writes = Math.min(usage.cacheWriteTokens ?? 0, rest);
  rest -= writes;
  const writePrice = price.cacheWrite ?? price.input;
  return (
    (rest * price.input +
      cached * (price.cachedInput ?? price.input) +
      writes * writePrice +
      writes1h * (price.cacheWrite1h ?? writePrice) +
      usage.completionTokens * price.output) /
    1_000_000
  );
}
