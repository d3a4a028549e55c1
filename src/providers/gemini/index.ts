/** The `gemini` catalog entry: Google's Gemini API. */
import { defineProvider } from '../entry.js';
import { GeminiAdapter } from './adapter.js';
import { compileGeminiProvider, geminiProviderSchema } from './config.js';

export const geminiProvider = defineProvider({
  type: 'gemini',
  schema: geminiProviderSchema,
  compile: compileGeminiProvider,
  adapter: (runtime, pools, services) => new GeminiAdapter(runtime, pools, undefined, services),
});
