/**
 * Catalog errors rendered for Anthropic clients: `{type:'error', error:{type, message}}` as a
 * body, or as an SSE `error` event once a stream has started. The Sluice code rides along in
 * `error.code`, which Anthropic's SDKs ignore and people reading logs do not.
 */
import type { SluiceError } from '../../errors.js';
import { anthropicErrorStatus } from '../../providers/anthropic/errors.js';

const byStatus: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  // A draining gateway is, to the client, an overloaded one: retry elsewhere.
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** The Anthropic error type: the upstream's own when it was Anthropic, else from the status. */
export function anthropicErrorType(err: SluiceError): string {
  const upstream = err.upstream?.type;
  if (upstream !== undefined && upstream !== null && Object.hasOwn(anthropicErrorStatus, upstream)) return upstream;
  return byStatus[err.status] ?? (err.status >= 500 ? 'api_error' : 'invalid_request_error');
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; code: string };
  request_id?: string;
}

export function anthropicErrorBody(err: SluiceError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: 'error', error: { type: anthropicErrorType(err), message: err.message, code: err.code } };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}

/** The SSE text of an `error` event; the stream ends after it, without message_stop. */
export function anthropicErrorEvent(err: SluiceError, requestId?: string): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err, requestId))}\n\n`;
}
