import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServiceRuntime } from '../http/services.js';
import type { EventBus } from './events.js';
import { SeriesCounter, SeriesHistogram } from './series.js';

/** Same buckets as the model routes' latency histograms (seconds). */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Metrics of HTTP services, per service and per instance, registered on the gateway's
 * registry beside the model routes' metrics and fed by the same event bus.
 */
export function registerHttpMetrics(registry: Registry, bus: EventBus, services: () => Iterable<ServiceRuntime>): void {
  const requests = new SeriesCounter({
    name: 'sluice_http_requests_total',
    help: 'Requests to HTTP services, by service, instance ("" when none answered), method, status and error code ("" when none).',
    labelNames: ['service', 'instance', 'method', 'status', 'code'],
    registers: [registry],
  });
  const duration = new SeriesHistogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'Time from arrival to the last byte of the answer, by service and instance.',
    labelNames: ['service', 'instance'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const ttfb = new SeriesHistogram({
    name: 'sluice_http_time_to_first_byte_seconds',
    help: 'Time from arrival to the response head, by service and instance.',
    labelNames: ['service', 'instance'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const retries = new Counter({ name: 'sluice_http_retries_total', help: 'Attempts after the first, by service.', labelNames: ['service'], registers: [registry] });
  const transitions = new Counter({
    name: 'sluice_http_instance_transitions_total',
    help: 'Instances leaving or rejoining the rotation, by service, instance and event (ejected, readmitted, unhealthy, healthy).',
    labelNames: ['service', 'instance', 'event'],
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_http_instance_up',
    help: 'Whether an instance is in rotation: 1 yes, 0 failing its health check or ejected.',
    labelNames: ['service', 'instance'],
    registers: [registry],
    collect() {
      this.reset();
      for (const rt of services()) for (const i of rt.instances) this.set({ service: rt.service.name, instance: i.config.url }, i.available ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sluice_http_instance_in_flight',
    help: 'Requests in flight per instance.',
    labelNames: ['service', 'instance'],
    registers: [registry],
    collect() {
      this.reset();
      for (const rt of services()) for (const i of rt.instances) this.set({ service: rt.service.name, instance: i.config.url }, i.inFlight);
    },
  });
  bus.on('http:end', (ctx) => {
    const service = ctx.service;
    const instance = ctx.instance ?? '';
    // Per-label-set cells, not prom-client's per-call label hashing (see series.ts).
    const status = String(ctx.status);
    const code = ctx.errorCode ?? '';
    const id = `${service}\u0001${instance}`;
    requests.cell(`${id}\u0001${ctx.method}\u0001${status}\u0001${code}`, { service, instance, method: ctx.method, status, code }).pending++;
    duration.cell(id, { service, instance }).add((ctx.endedAt - ctx.startedAt) / 1000);
    if (ctx.firstByteAt >= 0) ttfb.cell(id, { service, instance }).add((ctx.firstByteAt - ctx.startedAt) / 1000);
    if (ctx.retries > 0) retries.inc({ service }, ctx.retries);
  });
  bus.on('http:instance', (t) => transitions.inc({ service: t.service, instance: t.instance, event: t.event }));
}
