/**
 * The errors translators raise. Each kind is built here only, so when the catalog gains the
 * proposed codes (SLUICE_ERR_UNSUPPORTED, SLUICE_ERR_CONTENT_BLOCKED) one line changes per kind.
 */
import { SluiceError, type ErrorCode } from '../../errors.js';

/** Proposed SLUICE_ERR_UNSUPPORTED (400, invalid_request_error); same status and type today. */
const UNSUPPORTED: ErrorCode = 'SLUICE_ERR_INVALID_REQUEST';

/**
 * A parameter, value or endpoint the target provider cannot honour. A 400 rather than a silent
 * drop, because dropping it would change what the client asked for.
 */
export function unsupported(provider: string, param: string | null, what: string): SluiceError {
  return new SluiceError(UNSUPPORTED, { message: `Unsupported by provider "${provider}": ${what}.`, param: param ?? undefined });
}

/** A field of an Anthropic-shaped request that Sluice's `/v1/messages` cannot carry to a target. */
export function unsupportedOnSurface(param: string, what: string): SluiceError {
  return new SluiceError(UNSUPPORTED, { message: `Not supported on /v1/messages: ${what}.`, param });
}

/** A malformed request field, found while translating. */
export function invalidParam(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: "${param}" ${what}.`, param });
}

/**
 * The provider refused the prompt or withheld the answer on safety grounds. Proposed
 * SLUICE_ERR_CONTENT_BLOCKED (400, invalid_request_error), as OpenAI answers a policy refusal
 * with a 400. Until then it is an upstream error with status 400 that carries the reason.
 */
export function contentBlocked(provider: string, reason: string): SluiceError {
  return new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', {
    status: 400,
    message: `Provider "${provider}" blocked the content (${reason}).`,
    upstream: { status: 200, code: reason, type: 'content_blocked' },
  });
}

/** The upstream sent an answer that does not have the documented shape. */
export function badResponse(provider: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: `Provider "${provider}" sent ${what}.` });
}
