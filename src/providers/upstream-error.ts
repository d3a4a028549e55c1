import { SluiceError } from '../errors.js';
import { isRecord } from '../lib/json.js';

/**
 * Turns an upstream error answer (status >= 400) into a SluiceError that keeps the upstream's
 * status, message and code, and its Retry-After header, so clients and their SDKs react to a
 * provider's 429 or 500 as they would without the gateway.
 */
export function upstreamStatusError(status: number, bodyText: string, retryAfter: string | null): SluiceError {
  let message = `The upstream provider answered ${status}.`;
  let code: string | null = null;
  let type: string | null = null;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    const err = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : isRecord(parsed) ? parsed : null;
    if (err !== null) {
      if (typeof err.message === 'string') message = `Upstream ${status}: ${err.message}`;
      if (typeof err.code === 'string' || typeof err.code === 'number') code = String(err.code);
      if (typeof err.type === 'string') type = err.type;
    }
  } catch {
    // Not JSON: keep the generic message; the upstream body may hold anything, so it is not echoed.
  }
  return new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', {
    status,
    message,
    headers: retryAfter === null ? undefined : { 'retry-after': retryAfter },
    upstream: { status, code, type },
  });
}

