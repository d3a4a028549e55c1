import type { Usage } from '../providers/types.js';

export interface Price {
  readonly input: number;
  readonly output: number;
}

/** USD for a usage at a price in USD per million tokens. */
export function costUsd(usage: Usage | null, price: Price | null): number {
  if (usage === null || price === null) return 0;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1_000_000;
}
