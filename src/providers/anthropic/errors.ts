/** Anthropic error answers and error events → catalog errors. */
import { SluiceError } from '../../errors.js';
import { isRecord, str } from '../http/json.js';
import { upstreamStatusError } from '../upstream-error.js';

/** The HTTP status Anthropic documents for each error type (https://docs.anthropic.com/en/api/errors). */
export const anthropicErrorStatus: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * An error status from Anthropic. Its body is `{type:'error', error:{type, message}}`; the
 * status (529 overloaded included), message, error type and Retry-After are kept, so clients
 * and the router see what Anthropic said.
 */
export function anthropicStatusError(status: number, bodyText: string, retryAfter: string | null): SluiceError {
  return upstreamStatusError(status, bodyText, retryAfter);
}

/**
 * An `error` event inside a stream that had already answered 200. Before any content was
 * produced it stands for the error status Anthropic would have sent (so a 529 can still be
 * retried or fall back); after that the stream is interrupted.
 */
export function anthropicStreamError(provider: string, data: unknown, committed: boolean): SluiceError {
  const err = isRecord(data) && isRecord(data.error) ? data.error : {};
  const type = str(err.type) ?? 'api_error';
  const message = str(err.message) ?? 'unknown error';
  const status = anthropicErrorStatus[type] ?? 500;
  const upstream = { status, code: null, type };
  if (!committed) return new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status, message: `Upstream ${status}: ${message}`, upstream });
  return new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${provider}" ended with ${type}: ${message}`, upstream });
}
