/** The `openai` catalog entry: any OpenAI-compatible API. */
import { defineProvider } from '../entry.js';
import { OpenAIAdapter } from './adapter.js';
import { compileOpenAIProvider, openaiProviderSchema } from './config.js';

export const openaiProvider = defineProvider({
  type: 'openai',
  schema: openaiProviderSchema,
  compile: compileOpenAIProvider,
  adapter: (runtime, pools, services) => new OpenAIAdapter(runtime, pools, services),
});
