/** The `mock` catalog entry: the in-process mock engine, no HTTP. */
import { defineProvider } from '../entry.js';
import { MockAdapter } from './adapter.js';
import { compileMockProvider, mockProviderSchema } from './config.js';

export const mockProvider = defineProvider({
  type: 'mock',
  schema: mockProviderSchema,
  compile: compileMockProvider,
  adapter: (runtime) => new MockAdapter(runtime.name, runtime.options),
});
