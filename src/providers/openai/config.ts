/**
 * Config of the `openai` provider type (any OpenAI-compatible API): the schema fragment for
 * the provider union, its runtime form, and the compile step.
 */
import { z } from 'zod';
import { healthCheckSchema, healthPolicy, type HealthCheckPolicy } from '../../config/health-check.js';
import { baseUrlSchema, compileHttpProvider, httpProviderFields, type HttpProviderRuntime } from '../http/config.js';

/**
 * How `POST /v1/responses` reaches a provider of the OpenAI wire format (issue 18): `native`
 * passes it through to the upstream's own Responses API; `translate` sends chat completions,
 * as to any chat-only server (most OpenAI-compatible servers have no /v1/responses).
 */
export const responsesModeSchema = z.enum(['native', 'translate'], { error: 'must be "native" or "translate"' });
export type ResponsesMode = z.output<typeof responsesModeSchema>;

/** OpenAI's own API, the one `openai`-type upstream known to serve the Responses API. */
const OPENAI_HOST = 'api.openai.com';

export const openaiProviderSchema = z.strictObject({
  type: z.literal('openai'),
  baseUrl: baseUrlSchema('https://api.openai.com/v1'),
  // apiKey, headers, connections, timeouts: the same for every HTTP provider type.
  ...httpProviderFields,
  healthCheck: healthCheckSchema.optional(),
  streamUsage: z.boolean().default(true),
  // Issue 18: whether /v1/responses is passed through to the upstream's own Responses API.
  responses: responsesModeSchema.optional(),
});

export type OpenAIProviderConfig = z.output<typeof openaiProviderSchema>;

/** Any OpenAI-compatible API: the fields every HTTP provider type shares. */
export interface OpenAIProviderRuntime extends HttpProviderRuntime {
  readonly type: 'openai';
  readonly healthCheck: HealthCheckPolicy | null;
  /** Ask the upstream for `stream_options.include_usage` on every stream (some APIs refuse it). */
  readonly streamUsage: boolean;
  /** `native`: /v1/responses is passed through to `{baseUrl}/responses` (issue 18). */
  readonly responses: ResponsesMode;
}

export function compileOpenAIProvider(name: string, p: OpenAIProviderConfig): OpenAIProviderRuntime {
  return { type: 'openai', ...compileHttpProvider(name, p), healthCheck: healthPolicy(p.healthCheck), streamUsage: p.streamUsage, responses: p.responses ?? (new URL(p.baseUrl).hostname === OPENAI_HOST ? 'native' : 'translate') };
}
