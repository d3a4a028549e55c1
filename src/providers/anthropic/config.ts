/**
 * Config of the `anthropic` provider type: the schema fragment for the provider union in
 * src/config/schema.ts, its runtime form, and the compile step from one to the other.
 */
import { z } from 'zod';
import { baseUrlSchema, compileHttpProvider, httpProviderFields, numeric, type HttpProviderRuntime } from '../http/config.js';

/** The API version header Sluice's translation is written against. */
export const ANTHROPIC_VERSION = '2023-06-01';
/** `max_tokens` sent when the client gives none (Anthropic requires it; OpenAI does not). */
export const DEFAULT_MAX_TOKENS = 4096;

export const anthropicProviderSchema = z.strictObject({
  type: z.literal('anthropic'),
  baseUrl: baseUrlSchema('https://api.anthropic.com/v1').default('https://api.anthropic.com/v1'),
  ...httpProviderFields,
  version: z.string().min(1).default(ANTHROPIC_VERSION),
  defaultMaxTokens: numeric(z.number().int().min(1)).default(DEFAULT_MAX_TOKENS),
});

export type AnthropicProviderConfig = z.output<typeof anthropicProviderSchema>;

export interface AnthropicProviderRuntime extends HttpProviderRuntime {
  readonly type: 'anthropic';
  /** No active health check: the provider is checked passively (by its answers) only. */
  readonly healthCheck: null;
  /** Sent as `anthropic-version`. */
  readonly version: string;
  readonly defaultMaxTokens: number;
}

export function compileAnthropicProvider(name: string, p: AnthropicProviderConfig): AnthropicProviderRuntime {
  return { type: 'anthropic', ...compileHttpProvider(name, p), version: p.version, defaultMaxTokens: p.defaultMaxTokens, healthCheck: null };
}
