/**
 * Config of the `azure-openai` provider type (Azure OpenAI Service): the schema fragment for
 * the provider union, its runtime form, and the compile step.
 */
import { z } from 'zod';
import { responsesModeSchema, type ResponsesMode } from '../openai/config.js';
import { baseUrlSchema, compileHttpProvider, httpProviderFields, type HttpProviderRuntime } from '../http/config.js';

/** The latest GA data-plane inference version when this was written. */
export const AZURE_API_VERSION = '2024-10-21';

export const azureOpenAIProviderSchema = z.strictObject({
  type: z.literal('azure-openai'),
  /** The resource endpoint, e.g. https://my-resource.openai.azure.com (no /openai path). */
  baseUrl: baseUrlSchema('https://my-resource.openai.azure.com'),
  ...httpProviderFields,
  apiVersion: z.string().min(1).default(AZURE_API_VERSION),
  /** Model name → deployment name; a model without an entry is used as the deployment name. */
  deployments: z.record(z.string().min(1), z.string().min(1)).default({}),
  // Issue 18: Azure serves the Responses API (/openai/v1/responses), so it is passed through unless told otherwise.
  responses: responsesModeSchema.default('native'),
});

export type AzureOpenAIProviderConfig = z.output<typeof azureOpenAIProviderSchema>;

export interface AzureOpenAIProviderRuntime extends HttpProviderRuntime {
  readonly type: 'azure-openai';
  /** No active health check: the provider is checked passively (by its answers) only. */
  readonly healthCheck: null;
  /** Sent as the `api-version` query parameter. */
  readonly apiVersion: string;
  readonly deployments: Readonly<Record<string, string>>;
  /** `native`: /v1/responses is passed through to `/openai/v1/responses` (issue 18). */
  readonly responses: ResponsesMode;
}

export function compileAzureOpenAIProvider(name: string, p: AzureOpenAIProviderConfig): AzureOpenAIProviderRuntime {
  return { type: 'azure-openai', ...compileHttpProvider(name, p), apiVersion: p.apiVersion, deployments: p.deployments, healthCheck: null, responses: p.responses };
}
