/** Azure OpenAI request paths and headers. Pure. */
import { openAIEndpointPaths } from '../openai/types.js';
import type { Endpoint } from '../types.js';
import type { AzureOpenAIProviderRuntime } from './config.js';

type AzureTarget = Pick<AzureOpenAIProviderRuntime, 'apiVersion' | 'deployments'>;

/** The deployment serving `model`: its `deployments` entry, else the model name itself. */
export function azureDeployment(config: AzureTarget, model: string): string {
  return Object.hasOwn(config.deployments, model) ? config.deployments[model]! : model;
}

/** `/openai/deployments/{deployment}/chat/completions?api-version=…`, relative to the base path. */
export function azurePath(config: AzureTarget, endpoint: Endpoint, model: string): string {
  const deployment = encodeURIComponent(azureDeployment(config, model));
  return `/openai/deployments/${deployment}${openAIEndpointPaths[endpoint]}?api-version=${encodeURIComponent(config.apiVersion)}`;
}

/** Azure authenticates with an `api-key` header instead of `Authorization: Bearer`. */
export function azureHeaders(apiKey: string | null): Record<string, string> {
  return apiKey === null ? {} : { 'api-key': apiKey };
}
