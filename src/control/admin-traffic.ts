import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TRAFFIC_BUCKETS, TRAFFIC_BUCKET_MS, type TrafficRing } from '../observability/traffic.js';
import { parseQuery } from './admin-query.js';

const BUCKET_S = TRAFFIC_BUCKET_MS / 1000;
const MAX_WINDOW_S = TRAFFIC_BUCKETS * BUCKET_S;

/** `300`, `300s`, `5m`: seconds. */
const seconds = z
  .string()
  .regex(/^\d{1,6}[sm]?$/, 'must be seconds (300, 300s) or minutes (5m)')
  .transform((s) => (s.endsWith('m') ? Number(s.slice(0, -1)) * 60 : Number(s.replace(/s$/, ''))));

const trafficQuery = z
  .strictObject({
    window: seconds.pipe(z.number().int().min(BUCKET_S).max(MAX_WINDOW_S).multipleOf(BUCKET_S)).default(300),
    step: seconds.pipe(z.number().int().min(BUCKET_S).max(MAX_WINDOW_S).multipleOf(BUCKET_S)).optional(),
  })
  .transform((q) => ({ window: q.window, step: q.step ?? (q.window <= 300 ? BUCKET_S : q.window <= 600 ? 10 : 15) }))
  .refine((q) => q.window % q.step === 0, { message: 'step must divide window', path: ['step'] });

/**
 * `GET /admin/traffic?window=5m&step=10s`: this instance's requests per second, 4xx and 5xx
 * errors and p50/p95/p99 latency over time, overall and by route, provider and HTTP service,
 * from the in-process ring (observability/traffic.ts; the last 15 minutes in 5 s buckets).
 */
export function registerTrafficAdmin(admin: FastifyInstance, traffic: TrafficRing): void {
  admin.get('/traffic', async (request) => {
    const q = parseQuery(trafficQuery, request.query);
    return { object: 'traffic', ...traffic.view(q.window, q.step) };
  });
}
