/**
 * The error catalog: every error a client can see has a stable code, an HTTP status, an
 * OpenAI error `type` and a default message. `docs/errors.md` lists the same entries; a test
 * keeps the two identical in both directions.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'insufficient_quota'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable';

export interface CatalogEntry {
  /** HTTP status; 0 means "the upstream's status is passed through". */
  readonly status: number;
  readonly type: ErrorType;
  readonly message: string;
}

export const catalog = {
  SLUICE_ERR_INVALID_JSON: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  SLUICE_ERR_INVALID_REQUEST: { status: 400, type: 'invalid_request_error', message: 'The request body does not have the expected shape.' },
  SLUICE_ERR_BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', message: 'The request body is larger than the configured limit.' },
  SLUICE_ERR_UNAUTHORIZED: { status: 401, type: 'authentication_error', message: 'A valid API key or bearer token is required.' },
  SLUICE_ERR_MODEL_FORBIDDEN: { status: 403, type: 'permission_error', message: 'This key may not use the requested model.' },
  SLUICE_ERR_RATE_LIMITED: { status: 429, type: 'rate_limit_error', message: 'Rate limit reached.' },
  SLUICE_ERR_REQUEST_TOO_LARGE: { status: 413, type: 'invalid_request_error', message: 'The request is larger than a limit allows at once, so it can never be admitted.' },
  SLUICE_ERR_BUDGET_EXCEEDED: { status: 429, type: 'insufficient_quota', message: 'The spending budget for this period is used up.' },
  SLUICE_ERR_LIMITER_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'Limits cannot be checked right now (shared state unreachable).' },
  SLUICE_ERR_CACHE_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'The response cache backend cannot be reached.' },
  SLUICE_ERR_KEY_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No such key.' },
  SLUICE_ERR_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No such endpoint.' },
  SLUICE_ERR_MODEL_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No route serves the requested model.' },
  SLUICE_ERR_UPSTREAM_UNREACHABLE: { status: 502, type: 'upstream_error', message: 'The upstream provider could not be reached.' },
  SLUICE_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, type: 'upstream_error', message: 'The upstream provider sent a response that could not be read.' },
  SLUICE_ERR_UPSTREAM_TIMEOUT: { status: 504, type: 'timeout_error', message: 'The upstream provider did not answer in time.' },
  SLUICE_ERR_UPSTREAM_STATUS: { status: 0, type: 'upstream_error', message: 'The upstream provider answered with an error.' },
  SLUICE_ERR_RESPONSE_TOO_LARGE: { status: 502, type: 'upstream_error', message: 'The upstream response is larger than the configured limit.' },
  SLUICE_ERR_STREAM_INTERRUPTED: { status: 502, type: 'upstream_error', message: 'The upstream stream ended before it was complete.' },
  SLUICE_ERR_NO_HEALTHY_TARGET: { status: 503, type: 'service_unavailable', message: 'Every target of the route and of its fallbacks is unavailable.' },
  SLUICE_ERR_QUEUE_FULL: { status: 429, type: 'rate_limit_error', message: 'Every target is at capacity and the admission queue is full.' },
  SLUICE_ERR_QUEUE_TIMEOUT: { status: 503, type: 'service_unavailable', message: 'Every target stayed at capacity until the queue deadline.' },
  SLUICE_ERR_DATABASE_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'The database cannot be read right now.' },
  SLUICE_ERR_SHUTTING_DOWN: { status: 503, type: 'service_unavailable', message: 'The gateway is shutting down; retry on another instance.' },
  SLUICE_ERR_TOO_MANY_CONNECTIONS: { status: 503, type: 'service_unavailable', message: 'The gateway has as many client connections open as it allows; retry shortly.' },
  SLUICE_ERR_CLIENT_CONNECTION_LIMIT: { status: 429, type: 'rate_limit_error', message: 'This client address has as many connections open as the gateway allows one address.' },
  SLUICE_ERR_TOO_MANY_STREAMS: { status: 429, type: 'rate_limit_error', message: 'This client address has as many streams open as the gateway allows one address.' },
  SLUICE_ERR_STREAM_CAPACITY: { status: 503, type: 'service_unavailable', message: 'The gateway has as many streams open as it allows; retry shortly.' },
  SLUICE_ERR_CLIENT_TOO_SLOW: { status: 408, type: 'timeout_error', message: 'The client did not read the stream within the write timeout and was cut off.' },
  SLUICE_ERR_INTERNAL: { status: 500, type: 'api_error', message: 'Internal gateway error.' },
  SLUICE_ERR_JSON_TOO_DEEP: { status: 400, type: 'invalid_request_error', message: 'The request body nests arrays and objects deeper than the gateway accepts.' },
  SLUICE_ERR_INVALID_PATH: { status: 400, type: 'invalid_request_error', message: 'The request path is not one the gateway forwards.' },
  SLUICE_ERR_CLIENT_CLOSED: { status: 499, type: 'invalid_request_error', message: 'The client closed the connection before the request was complete.' },
  SLUICE_ERR_ADMIN_FORBIDDEN: { status: 403, type: 'permission_error', message: "This admin token's role may not do this." },
  SLUICE_ERR_CONFIG_KEY: { status: 409, type: 'invalid_request_error', message: 'This key is declared in the config file and is managed there.' },
  SLUICE_ERR_UNSUPPORTED_MODALITY: { status: 400, type: 'invalid_request_error', message: 'The target model answers text only; audio and image generation are not supported.' },
  SLUICE_ERR_RESPONSE_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No stored response with this id for this caller.' },
  SLUICE_ERR_RESPONSES_NOT_STORED: { status: 400, type: 'invalid_request_error', message: 'This gateway keeps no responses (it has no database), so previous_response_id cannot be followed.' },
  SLUICE_ERR_RELOAD_REFUSED: { status: 422, type: 'invalid_request_error', message: 'The config was not reloaded; the running config keeps serving.' },
  SLUICE_ERR_ADMIN_CSRF: { status: 403, type: 'permission_error', message: 'A change made with a console session needs the x-sluice-csrf header of that session.' },
  SLUICE_ERR_OIDC_SIGNIN: { status: 401, type: 'authentication_error', message: 'The single sign-on did not complete; start again from the console.' },
  SLUICE_ERR_OIDC_NO_ROLE: { status: 403, type: 'permission_error', message: 'The signed-in account has no console role.' },
  SLUICE_ERR_OIDC_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'The OpenID Connect provider cannot be reached.' },
  SLUICE_ERR_FILE_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No file with this id for this caller.' },
  SLUICE_ERR_FILE_TOO_LARGE: { status: 413, type: 'invalid_request_error', message: 'The file is larger than the gateway accepts (files.maxBytes).' },
  SLUICE_ERR_FILE_PURPOSE: { status: 400, type: 'invalid_request_error', message: 'The file purpose is not one this gateway accepts for this use.' },
  SLUICE_ERR_FILE_UPLOAD_INVALID: { status: 400, type: 'invalid_request_error', message: 'The upload must be multipart/form-data with a "file" part and a "purpose" field.' },
  SLUICE_ERR_BATCH_NOT_FOUND: { status: 404, type: 'not_found_error', message: 'No batch with this id for this caller.' },
  SLUICE_ERR_BATCH_NOT_CANCELLABLE: { status: 409, type: 'invalid_request_error', message: 'The batch has already finished and cannot be cancelled.' },
  SLUICE_ERR_BATCH_INPUT_INVALID: { status: 400, type: 'invalid_request_error', message: 'A line of the batch input file is not a valid request line.' },
  SLUICE_ERR_BATCH_EXPIRED: { status: 408, type: 'timeout_error', message: 'The batch expired before this request was run.' },
  SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED: { status: 400, type: 'invalid_request_error', message: "The provider's batch API refused the batch; its requests ran one by one through the gateway instead." },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

/** Body of an error response, in OpenAI's shape. */
export interface ErrorBody {
  error: {
    message: string;
    type: ErrorType;
    code: ErrorCode;
    param: string | null;
    /** Present for SLUICE_ERR_UPSTREAM_STATUS: what the upstream said. */
    upstream?: { status: number; code: string | null; type: string | null };
  };
}

export interface SluiceErrorOptions {
  message?: string;
  /** Overrides the catalog status; only meaningful for SLUICE_ERR_UPSTREAM_STATUS. */
  status?: number;
  param?: string;
  headers?: Readonly<Record<string, string>>;
  upstream?: { status: number; code: string | null; type: string | null };
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  /** Extra response headers, such as Retry-After. */
  readonly headers: Readonly<Record<string, string>> | null;
  readonly upstream: { status: number; code: string | null; type: string | null } | null;

  constructor(code: ErrorCode, options: SluiceErrorOptions = {}) {
    const entry: CatalogEntry = catalog[code];
    super(options.message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = options.status ?? (entry.status === 0 ? 502 : entry.status);
    this.type = entry.type;
    this.param = options.param ?? null;
    this.headers = options.headers ?? null;
    this.upstream = options.upstream ?? null;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
    if (this.upstream !== null) body.error.upstream = this.upstream;
    return body;
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}

/** Any thrown value as a catalog error; anything unknown becomes SLUICE_ERR_INTERNAL. */
export function toSluiceError(err: unknown): SluiceError {
  return err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_INTERNAL', { cause: err });
}
