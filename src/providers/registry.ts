import type { ProviderRuntime } from '../config/compile.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { AnthropicAdapter } from './anthropic/adapter.js';
import { AzureOpenAIAdapter } from './azure/adapter.js';
import { GeminiAdapter } from './gemini/adapter.js';
import { createMockAdapter } from './mock/adapter.js';
import { OpenAIAdapter } from './openai/adapter.js';
import type { ProviderAdapter } from './types.js';

/** The one place that knows every adapter type; core code asks it for adapters by config. */
export function createAdapter(provider: ProviderRuntime, pools: UpstreamPools): ProviderAdapter {
  switch (provider.type) {
    case 'openai':
      return new OpenAIAdapter(provider, pools);
    case 'anthropic':
      return new AnthropicAdapter(provider, pools);
    case 'gemini':
      return new GeminiAdapter(provider, pools);
    case 'azure-openai':
      return new AzureOpenAIAdapter(provider, pools);
    case 'mock':
      return createMockAdapter(provider.name, provider.options);
  }
}

export function createAdapters(providers: Readonly<Record<string, ProviderRuntime>>, pools: UpstreamPools): Map<string, ProviderAdapter> {
  const out = new Map<string, ProviderAdapter>();
  for (const [name, p] of Object.entries(providers)) out.set(name, createAdapter(p, pools));
  return out;
}
