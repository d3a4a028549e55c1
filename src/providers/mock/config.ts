/**
 * Config of the `mock` provider type (the in-process mock engine): the schema fragment for the
 * provider union, its runtime form, and the compile step.
 */
import { z } from 'zod';
import { numeric } from '../../config/fields.js';
import { healthCheckSchema, healthPolicy, type HealthCheckPolicy } from '../../config/health-check.js';
import type { MockOptions } from '../../mock/options.js';

export const mockProviderSchema = z.strictObject({
  type: z.literal('mock'),
  latencyMs: numeric(z.number().min(0)).default(0),
  tokensPerSecond: numeric(z.number().min(0)).default(0),
  status: numeric(z.number().int().min(400).max(599)).nullable().default(null),
  failRate: numeric(z.number().min(0).max(1)).default(0),
  dropAfterChunks: numeric(z.number().int().min(0)).nullable().default(null),
  retryAfter: numeric(z.number().int().min(0)).nullable().default(null),
  seed: numeric(z.number().int()).default(1),
  healthCheck: healthCheckSchema.optional(),
});

export type MockProviderConfig = z.output<typeof mockProviderSchema>;

export interface MockProviderRuntime {
  readonly type: 'mock';
  readonly name: string;
  readonly options: MockOptions;
  readonly healthCheck: HealthCheckPolicy | null;
}

export function compileMockProvider(name: string, p: MockProviderConfig): MockProviderRuntime {
  const { type: _type, healthCheck, ...options } = p;
  return { type: 'mock', name, options, healthCheck: healthPolicy(healthCheck) };
}
