/**
 * Config of the `gemini` provider type (Google's Gemini API, generativelanguage.googleapis.com):
 * the schema fragment for the provider union, its runtime form, and the compile step.
 */
import { z } from 'zod';
import { baseUrlSchema, compileHttpProvider, httpProviderFields, type HttpProviderRuntime } from '../http/config.js';

export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

export const geminiProviderSchema = z.strictObject({
  type: z.literal('gemini'),
  baseUrl: baseUrlSchema(GEMINI_BASE_URL).default(GEMINI_BASE_URL),
  ...httpProviderFields,
});

export type GeminiProviderConfig = z.output<typeof geminiProviderSchema>;

export interface GeminiProviderRuntime extends HttpProviderRuntime {
  readonly type: 'gemini';
  /** No active health check: the provider is checked passively (by its answers) only. */
  readonly healthCheck: null;
}

export function compileGeminiProvider(name: string, p: GeminiProviderConfig): GeminiProviderRuntime {
  return { type: 'gemini', ...compileHttpProvider(name, p), healthCheck: null };
}
