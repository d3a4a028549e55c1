/**
 * Active health checks: the config fragment shared by provider types and services, and its
 * compiled form. A leaf, so provider folders can use it without importing the whole schema.
 */
import { z } from 'zod';
import { duration, numeric } from './fields.js';

export const healthCheckSchema = z.strictObject({
  interval: duration.default(30_000),
  timeout: duration.default(5_000),
  healthyThreshold: numeric(z.number().int().min(1)).default(2),
  unhealthyThreshold: numeric(z.number().int().min(1)).default(3),
});

export type HealthCheckConfig = z.output<typeof healthCheckSchema>;

export interface HealthCheckPolicy {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export function healthPolicy(h: HealthCheckConfig | undefined): HealthCheckPolicy | null {
  return h === undefined ? null : { intervalMs: h.interval, timeoutMs: h.timeout, healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold };
}
