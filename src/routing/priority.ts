import type { IncomingHttpHeaders } from 'node:http';
import type { QueuePolicy } from '../config/compile.js';

/** Priorities are bounded where they are configured, and so is their sum. */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;

export function clampPriority(p: number): number {
  return p < PRIORITY_MIN ? PRIORITY_MIN : p > PRIORITY_MAX ? PRIORITY_MAX : p;
}

/**
 * What a route adds to a request's admission priority by request type (issue 22, seed 000:
 * interactive ranking ahead of experiments): the route's own `queue.priority`, its endpoint's
 * (`queue.priorityBy.endpoint`) and its header value's (`queue.priorityBy.header`; an absent
 * header or an unlisted value adds nothing). The tier's priority is added to this by the admit
 * stage; `x-sluice-priority`, where allowed, replaces the sum.
 */
export function routePriority(queue: QueuePolicy, endpoint: string, headers: IncomingHttpHeaders): number {
  let p = queue.priority + (queue.priorityByEndpoint[endpoint] ?? 0);
  const by = queue.priorityByHeader;
  if (by !== null) {
    const v = headers[by.name];
    if (typeof v === 'string') p += by.values.get(v) ?? 0;
  }
  return clampPriority(p);
}
