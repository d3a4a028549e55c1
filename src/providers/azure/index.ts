/** The `azure-openai` catalog entry: Azure OpenAI Service (deployments). */
import { defineProvider } from '../entry.js';
import { AzureOpenAIAdapter } from './adapter.js';
import { azureOpenAIProviderSchema, compileAzureOpenAIProvider } from './config.js';

export const azureOpenAIProvider = defineProvider({
  type: 'azure-openai',
  schema: azureOpenAIProviderSchema,
  compile: compileAzureOpenAIProvider,
  adapter: (runtime, pools, services) => new AzureOpenAIAdapter(runtime, pools, services),
});
