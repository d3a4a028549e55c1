/**
 * Request batching for embeddings (issue 21): the `routes[].batching` config fragment and its
 * compiled form. A leaf, so the schema, the compile step and the batcher (routing/) share it.
 *
 * On the route rather than the provider: the route is where an operator says which models may
 * wait a few milliseconds for company, and a route's target is the unit requests are combined
 * for (same provider, same upstream model). The provider's input limit is `maxInputs`.
 */
import { z } from 'zod';
import { duration, numeric, size } from './fields.js';

/** OpenAI's limit of inputs per embeddings request. */
export const DEFAULT_MAX_INPUTS = 2048;
/** The combined body's inputs are bounded to this many bytes (JSON text), well below providers' body limits. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export const batchingSchema = z.strictObject({
  window: duration.default(5).refine((ms) => ms > 0 && ms <= 1_000, 'must be between 1ms and 1s'),
  maxInputs: numeric(z.number().int().min(2).max(100_000)).default(DEFAULT_MAX_INPUTS),
  maxBytes: size.default(DEFAULT_MAX_BYTES).refine((b) => b >= 1024, 'must be at least 1kb'),
});

export type BatchingConfig = z.output<typeof batchingSchema>;

export interface EmbeddingBatching {
  /** How long the first request of a batch waits for others. */
  readonly windowMs: number;
  /** Most inputs in one upstream call (the provider's limit: 2048 for OpenAI, 100 for Gemini). */
  readonly maxInputs: number;
  /** Most bytes of inputs (their JSON text) in one upstream call. */
  readonly maxBytes: number;
}

export function compileBatching(b: BatchingConfig | undefined): EmbeddingBatching | null {
  return b === undefined ? null : { windowMs: b.window, maxInputs: b.maxInputs, maxBytes: b.maxBytes };
}
