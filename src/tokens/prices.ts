/**
 * Bundled list prices in USD per million tokens, as published on the providers' pricing
 * pages. Prices change: the config's top-level `prices` map overrides this table (and adds
 * models to it), and a target's own `price` overrides both.
 *
 * - Anthropic: platform.claude.com/docs/en/about-claude/pricing ("Model pricing"), checked
 *   2026-12-03. Prompt caching: 5-minute cache writes cost 1.25× the input price, 1-hour
 *   writes 2×, cache reads 0.1× — except Claude Haiku 3, listed at $0.30 for 5-minute writes
 *   (1.2×), which is why the table carries each price instead of a multiplier. Long-context
 *   surcharges (Sonnet 4.x prompts over 200K tokens) are not modelled.
 * - OpenAI: openai.com/api/pricing (the Standard tier), checked 2026-12-03 against the
 *   published figures; OpenAI does not charge for cache writes. Reasoning tokens
 *   (`completion_tokens_details.reasoning_tokens`) are billed as output tokens.
 * - Gemini (ai.google.dev/pricing) and Groq (groq.com/pricing): collected 2025-06, unchanged.
 *   Gemini's thinking tokens are billed as output, and Sluice counts them as completion tokens.
 */
export const PRICES_AS_OF = '2026-12-03';

/**
 * What the providers' own batch APIs charge, as a multiple of the list price: OpenAI's Batch
 * API (openai.com/api/pricing, "Batch": 50% off input and output) and Anthropic's Message
 * Batches (platform.claude.com/docs/en/build-with-claude/batch-processing, "50% of standard
 * API prices"), both checked 2026-12-03. Applied to every field of a price, cache prices
 * included, for lines Sluice passes through to those APIs (issue 21; `batches.priceMultiplier`
 * overrides it).
 */
export const BATCH_PRICE_MULTIPLIER = 0.5;
export const BATCH_PRICES_AS_OF = '2026-12-03';

export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  /** Price of prompt tokens served from the provider's prompt cache, when it differs. */
  readonly cachedInput?: number;
  /** Price of prompt tokens written to the prompt cache (Anthropic: 5-minute lifetime), when it differs. */
  readonly cacheWrite?: number;
  /** Price of prompt tokens written to the prompt cache with a 1-hour lifetime (Anthropic). */
  readonly cacheWrite1h?: number;
}

/** An Anthropic price row: input, 5-minute cache write, 1-hour cache write, cache read, output. */
function claude(input: number, cacheWrite: number, cacheWrite1h: number, cachedInput: number, output: number): ModelPrice {
  return { input, output, cachedInput, cacheWrite, cacheWrite1h };
}

const table: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': { input: 5, output: 30, cachedInput: 0.5 },
  'gpt-5.4': { input: 2.5, output: 15, cachedInput: 0.25 },
  'gpt-5.4-mini': { input: 0.75, output: 4.5, cachedInput: 0.075 },
  'gpt-5.4-nano': { input: 0.2, output: 1.25, cachedInput: 0.02 },
  'gpt-5.2': { input: 1.75, output: 14, cachedInput: 0.175 },
  'gpt-5.1': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  o1: { input: 15, output: 60, cachedInput: 7.5 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'claude-opus-5': claude(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-8': claude(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-7': claude(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-6': claude(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-5': claude(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-1': claude(15, 18.75, 30, 1.5, 75),
  'claude-opus-4': claude(15, 18.75, 30, 1.5, 75),
  'claude-sonnet-4-6': claude(3, 3.75, 6, 0.3, 15),
  'claude-sonnet-4-5': claude(3, 3.75, 6, 0.3, 15),
  'claude-sonnet-4': claude(3, 3.75, 6, 0.3, 15),
  'claude-haiku-4-5': claude(1, 1.25, 2, 0.1, 5),
  'claude-3-7-sonnet': claude(3, 3.75, 6, 0.3, 15),
  'claude-3-5-sonnet': claude(3, 3.75, 6, 0.3, 15),
  'claude-3-5-haiku': claude(0.8, 1, 1.6, 0.08, 4),
  'claude-3-haiku': claude(0.25, 0.3, 0.5, 0.03, 1.25),
  'gemini-2.5-pro': { input: 1.25, output: 10 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3 },
  'llama-3.3-70b-versatile': { input: 0.59, output: 0.79 },
  'llama-3.1-8b-instant': { input: 0.05, output: 0.08 },
  'mock-1': { input: 0, output: 0 },
};

/**
 * The bundled table merged with the config's `prices`. Lookup: an exact entry, else the
 * longest entry that is a prefix of the name followed by "-" (so dated snapshots like
 * "gpt-4o-2024-08-06" find "gpt-4o", and "gpt-4o-mini" never takes "gpt-4o"'s price).
 */
export class PriceBook {
  readonly #table: Readonly<Record<string, ModelPrice>>;
  readonly #byLength: readonly string[];

  constructor(overrides: Readonly<Record<string, ModelPrice>> = {}) {
    this.#table = { ...table, ...overrides };
    this.#byLength = Object.keys(this.#table).sort((a, b) => b.length - a.length);
  }

  /** The price of a model, or null when unknown. */
  lookup(model: string): ModelPrice | null {
    const exact = this.#table[model];
    if (exact !== undefined) return exact;
    for (const name of this.#byLength) if (model.startsWith(`${name}-`)) return this.#table[name]!;
    return null;
  }
}

/** The price of what answered a request: its target's (configured or listed), else the requested model's. */
export function answeringPrice(prices: PriceBook, target: { readonly price: ModelPrice | null } | null, model: string): ModelPrice | null {
  return target?.price ?? prices.lookup(model);
}

/** A price times `multiplier`, every field (a batch API's discount applies to each). */
export function scaledPrice(price: ModelPrice, multiplier: number): ModelPrice {
  const out: { -readonly [K in keyof ModelPrice]: ModelPrice[K] } = { input: price.input * multiplier, output: price.output * multiplier };
  if (price.cachedInput !== undefined) out.cachedInput = price.cachedInput * multiplier;
  if (price.cacheWrite !== undefined) out.cacheWrite = price.cacheWrite * multiplier;
  if (price.cacheWrite1h !== undefined) out.cacheWrite1h = price.cacheWrite1h * multiplier;
  return out;
}
