import type { FastifyInstance } from 'fastify';
import type { AdminSources } from './admin-sources.js';

/**
 * `GET /admin/queues`: each route's admission queue (requests waiting for a target at
 * capacity: `maxConcurrent`, `rpm`, `tpm`), in all and per target, beside its policy. Only
 * targets with a capacity limit have a queue; the others never make a request wait.
 */
export function registerQueuesAdmin(admin: FastifyInstance, sources: AdminSources): void {
  admin.get('/queues', async () => {
    const routes = [...sources.routes()].map((rt) => {
      const targets = rt.targets.map((t) => ({
        target: t.label,
        capped: t.gate !== null,
        maxConcurrent: Number.isFinite(t.config.maxConcurrent) ? t.config.maxConcurrent : null,
        rpm: t.config.rpm,
        tpm: t.config.tpm,
        inFlight: t.inFlight,
        waiting: t.gate === null ? 0 : t.gate.queued,
      }));
      return {
        route: rt.route.name,
        maxDepth: rt.route.queue.maxDepth,
        timeoutMs: rt.route.queue.timeoutMs,
        waiting: targets.reduce((n, t) => n + t.waiting, 0),
        inFlight: targets.reduce((n, t) => n + t.inFlight, 0),
        targets,
      };
    });
    return { object: 'queues', waiting: routes.reduce((n, r) => n + r.waiting, 0), routes };
  });
}
