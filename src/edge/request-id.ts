import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The longest client `x-request-id` taken as the request's id; a longer one is replaced. */
export const MAX_REQUEST_ID_LENGTH = 200;

/**
 * A request's id: the client's `x-request-id` when it is one non-empty value of at most
 * MAX_REQUEST_ID_LENGTH characters, else a new UUID. The one rule for every request the
 * gateway answers (model, service, upgrade, control plane, refused connections); before
 * issue 17 the fast path took an id of any length while fastify and upgrades capped it.
 */
export function requestId(req: IncomingMessage): string {
  const v = req.headers['x-request-id'];
  return typeof v === 'string' && v !== '' && v.length <= MAX_REQUEST_ID_LENGTH ? v : randomUUID();
}
