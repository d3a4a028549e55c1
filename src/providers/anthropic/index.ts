/** The `anthropic` catalog entry: Anthropic's Messages API. */
import { defineProvider } from '../entry.js';
import { AnthropicAdapter } from './adapter.js';
import { anthropicProviderSchema, compileAnthropicProvider } from './config.js';

export const anthropicProvider = defineProvider({
  type: 'anthropic',
  schema: anthropicProviderSchema,
  compile: compileAnthropicProvider,
  adapter: (runtime, pools, services) => new AnthropicAdapter(runtime, pools, undefined, services),
});
