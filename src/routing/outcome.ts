import { SluiceError } from '../errors.js';
import type { RetryPolicy } from '../config/compile.js';

/** What an attempt's result says about the target's health. */
export type Verdict = 'success' | 'failure' | 'neutral';

const transportCodes = new Set(['SLUICE_ERR_UPSTREAM_UNREACHABLE', 'SLUICE_ERR_UPSTREAM_TIMEOUT', 'SLUICE_ERR_STREAM_INTERRUPTED', 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE']);

/** Connection errors, timeouts and broken or unreadable answers: the target's fault. */
export function isTransportError(err: SluiceError): boolean {
  return transportCodes.has(err.code);
}

/**
 * A failure counts against the target's breaker; a client error (4xx other than 429) says
 * nothing about the target and is neutral, as is an error of the gateway's own.
 */
export function verdictOf(err: SluiceError): Verdict {
  if (isTransportError(err)) return 'failure';
  if (err.code === 'SLUICE_ERR_UPSTREAM_STATUS') return err.status === 429 || err.status >= 500 ? 'failure' : 'neutral';
  return 'neutral';
}

/** Connection errors and timeouts are always retried; upstream statuses when listed. */
export function isRetryable(err: SluiceError, policy: RetryPolicy): boolean {
  if (isTransportError(err)) return true;
  return err.code === 'SLUICE_ERR_UPSTREAM_STATUS' && policy.on.has(err.status);
}

/** The upstream's Retry-After in milliseconds, when the error carries one. */
export function retryAfterOf(err: SluiceError, nowMs: number, parse: (v: string, now: number) => number | null): number | null {
  const value = err.headers?.['retry-after'];
  return value === undefined ? null : parse(value, nowMs);
}

