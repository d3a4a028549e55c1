import type { FastifyInstance } from 'fastify';
import type { AdminSources } from './admin-sources.js';

/**
 * `GET /admin/targets`: every route's targets with their health (the provider's active check;
 * null without one), circuit breaker state, requests in flight, queued and latency (the peak
 * EWMA the `latency` strategy reads), and every HTTP service's instances with theirs. Read
 * from the live runtime when asked; nothing is tracked for it on the request path.
 */
export function registerTargetsAdmin(admin: FastifyInstance, sources: AdminSources): void {
  admin.get('/targets', async () => {
    const now = sources.clock.monotonic();
    const routes = [...sources.routes()].map((rt) => ({
      route: rt.route.name,
      strategy: rt.route.strategy,
      targets: rt.targets.map((t) => ({
        target: t.label,
        provider: t.config.provider,
        model: t.config.model,
        weight: t.weight,
        region: t.region,
        healthy: t.health === null ? null : t.health.healthy,
        available: t.available(now),
        breaker: t.breaker === null ? null : t.breaker.state,
        backInMs: Math.round(t.backInMs(now)),
        inFlight: t.inFlight,
        queued: t.gate === null ? 0 : t.gate.queued,
        latencyMs: roundMs(t.latency),
      })),
    }));
    const services = sources.services().map((svc) => ({
      service: svc.service.name,
      instances: svc.instances.map((i) => ({
        instance: i.config.url,
        weight: i.weight,
        healthy: i.health === null ? null : i.health.healthy,
        available: i.available,
        outlier: i.outlier === null ? null : i.outlier.state,
        inFlight: i.inFlight,
        latencyMs: roundMs(i.latency),
      })),
    }));
    return { object: 'targets', routes, services };
  });
}

function roundMs(ms: number): number | null {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : null;
}
