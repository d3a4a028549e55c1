/**
 * What one provider type contributes to the catalog (src/providers/catalog.ts): the zod schema
 * of its `providers.<name>` entry, the compile step to the frozen runtime form, and the
 * adapter built from that runtime form. A provider folder exports one entry; the catalog lists
 * them, and config validation, compilation and adapter creation all read the catalog.
 */
import type { z } from 'zod';
import type { HealthCheckPolicy } from '../config/health-check.js';
import type { UpstreamPools } from '../upstream/pools.js';
import type { ProviderAdapter } from './types.js';
import type { KeyPoolServices } from './keys/pool.js';

/** The fields every compiled provider has, whatever its type. */
export interface ProviderRuntimeBase {
  readonly type: string;
  readonly name: string;
  /** Active health checking; null when the provider is checked passively only. */
  readonly healthCheck: HealthCheckPolicy | null;
}

/** A provider entry's schema: a strict object whose `type` is the entry's literal type. */
export type ProviderSchema<T extends string> = z.ZodObject<{ type: z.ZodLiteral<T> } & z.ZodRawShape, z.core.$strict>;

export interface ProviderEntry<T extends string, S extends ProviderSchema<T>, R extends ProviderRuntimeBase> {
  /** The `type` value in config. */
  readonly type: T;
  readonly schema: S;
  /** Validated config → runtime settings. Pure; runs once per config load. */
  compile(name: string, config: z.output<S>): R;
  /** The adapter serving this provider. Called once per config load, never per request. `services`: the clock and key events of its API key pool (issue 21). */
  adapter(runtime: R, pools: UpstreamPools, services?: KeyPoolServices): ProviderAdapter;
}

/** Declares an entry with its types inferred (the schema's literal, the runtime's shape). */
export function defineProvider<T extends string, S extends ProviderSchema<T>, R extends ProviderRuntimeBase>(entry: ProviderEntry<T, S, R>): ProviderEntry<T, S, R> {
  return entry;
}
