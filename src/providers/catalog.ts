/**
 * The provider catalog: every provider type, once. Config validation (the `providers` union in
 * src/config/schema.ts), compilation (src/config/compile.ts) and adapter creation read it;
 * nothing else knows the list of types. A new provider is a folder `src/providers/<name>/`
 * exporting a `defineProvider` entry, plus its line in `providerEntries` (docs/providers.md,
 * "Adding a provider").
 */
import { z } from 'zod';
import type { UpstreamPools } from '../upstream/pools.js';
import { anthropicProvider } from './anthropic/index.js';
import { azureOpenAIProvider } from './azure/index.js';
import { geminiProvider } from './gemini/index.js';
import { mockProvider } from './mock/index.js';
import { openaiProvider } from './openai/index.js';
import type { ProviderAdapter } from './types.js';
import type { KeyPoolServices } from './keys/pool.js';

/** In the order the "unknown provider type" message lists them. */
export const providerEntries = [openaiProvider, anthropicProvider, geminiProvider, azureOpenAIProvider, mockProvider] as const;

type Entries = typeof providerEntries;
type SchemasOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { readonly schema: infer S } ? S : never };
type SchemaTuple = SchemasOf<Entries>;

/** Every provider type's compiled form; `type` tells them apart. */
export type ProviderRuntime = ReturnType<Entries[number]['compile']>;
type ProviderType = Entries[number]['type'];

export const providerTypes: readonly ProviderType[] = providerEntries.map((e) => e.type);

/** `providers.<name>` in config: one schema per type, told apart by `type`. */
export const providerSchema = z.discriminatedUnion('type', providerEntries.map((e) => e.schema) as unknown as SchemaTuple, {
  error: (issue) => (issue.code === 'invalid_union' ? `unknown provider type (expected one of: ${providerTypes.join(', ')})` : undefined),
});

export type ProviderConfig = z.output<typeof providerSchema>;

/** An entry of any type. Method parameters are bivariant, so every entry is one without a cast. */
interface AnyEntry {
  readonly type: string;
  compile(name: string, config: ProviderConfig): ProviderRuntime;
  adapter(runtime: ProviderRuntime, pools: UpstreamPools, services?: KeyPoolServices): ProviderAdapter;
}

const byType: ReadonlyMap<string, AnyEntry> = new Map<string, AnyEntry>(providerEntries.map((e): [string, AnyEntry] => [e.type, e]));

function entryOf(type: string): AnyEntry {
  const entry = byType.get(type);
  // Unreachable for validated config: the schema admits only catalog types.
  if (entry === undefined) throw new Error(`unknown provider type "${type}"`);
  return entry;
}

/** A validated `providers.<name>` entry → its runtime settings. */
export function compileProvider(name: string, config: ProviderConfig): ProviderRuntime {
  return entryOf(config.type).compile(name, config);
}

/** The adapter for one compiled provider. */
export function createAdapter(provider: ProviderRuntime, pools: UpstreamPools, services?: KeyPoolServices): ProviderAdapter {
  return entryOf(provider.type).adapter(provider, pools, services);
}

/** One adapter per configured provider, by provider name; built once per config load. */
export function createAdapters(providers: Readonly<Record<string, ProviderRuntime>>, pools: UpstreamPools, services?: KeyPoolServices): Map<string, ProviderAdapter> {
  const out = new Map<string, ProviderAdapter>();
  for (const [name, p] of Object.entries(providers)) out.set(name, createAdapter(p, pools, services));
  return out;
}
