/**
 * Bundled list prices in USD per million tokens, as published on the providers' pricing
 * pages (openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/pricing,
 * groq.com/pricing), collected 2025-06. Prices change: the config's top-level `prices` map
 * overrides this table (and adds models to it), and a target's own `price` overrides both.
 */
export const PRICES_AS_OF = '2025-06';

export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  /** Price of prompt tokens served from the provider's prompt cache, when it differs. */
  readonly cachedInput?: number;
}

const table: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'claude-opus-4': { input: 15, output: 75, cachedInput: 1.5 },
  'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-7-sonnet': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-5-sonnet': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08 },
  'claude-3-haiku': { input: 0.25, output: 1.25, cachedInput: 0.03 },
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
