/**
 * Errors from the shared stores. They are internal (not catalog entries): the stage that
 * calls a store decides which catalog error, if any, a client sees.
 */

export type StoreErrorCode = 'STORE_FAILED' | 'STORE_TIMEOUT' | 'STORE_UNAVAILABLE';

/** A store could not complete a call (connection lost, unexpected reply, script error). */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(message: string, options: { cause?: unknown; code?: StoreErrorCode } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = options.code ?? 'STORE_FAILED';
  }
}

/** A call did not complete within the store's `timeoutMs`. */
export class StoreTimeoutError extends StoreError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, cause?: unknown) {
    super(`the state store did not answer within ${timeoutMs} ms`, { cause, code: 'STORE_TIMEOUT' });
    this.name = 'StoreTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The remote store is down and the failure policy is `closed`. */
export class StoreUnavailableError extends StoreError {
  /** `clock.now()` when the store was marked down. */
  readonly since: number;

  constructor(message: string, since: number, cause?: unknown) {
    super(message, { cause, code: 'STORE_UNAVAILABLE' });
    this.name = 'StoreUnavailableError';
    this.since = since;
  }
}

export function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError;
}
