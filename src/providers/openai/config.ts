/**
 * Config of the `openai` provider type (any OpenAI-compatible API): the schema fragment for
 * the provider union, its runtime form, and the compile step.
 */
import { z } from 'zod';
import { healthCheckSchema, healthPolicy, type HealthCheckPolicy } from '../../config/health-check.js';
import { baseUrlSchema, compileHttpProvider, httpProviderFields, type HttpProviderRuntime } from '../http/config.js';

export const openaiProviderSchema = z.strictObject({
  type: z.literal('openai'),
  baseUrl: baseUrlSchema('https://api.openai.com/v1'),
  // apiKey, headers, connections, timeouts: the same for every HTTP provider type.
  ...httpProviderFields,
  healthCheck: healthCheckSchema.optional(),
  streamUsage: z.boolean().default(true),
});

export type OpenAIProviderConfig = z.output<typeof openaiProviderSchema>;

/** Any OpenAI-compatible API: the fields every HTTP provider type shares. */
export interface OpenAIProviderRuntime extends HttpProviderRuntime {
  readonly type: 'openai';
  readonly healthCheck: HealthCheckPolicy | null;
  /** Ask the upstream for `stream_options.include_usage` on every stream (some APIs refuse it). */
  readonly streamUsage: boolean;
}

export function compileOpenAIProvider(name: string, p: OpenAIProviderConfig): OpenAIProviderRuntime {
  return { type: 'openai', ...compileHttpProvider(name, p), healthCheck: healthPolicy(p.healthCheck), streamUsage: p.streamUsage };
}
