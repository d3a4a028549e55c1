import { SluiceError } from '../errors.js';
import type { Redactor } from '../lib/redactor.js';

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause === undefined ? undefined : errorCode(cause);
}

/**
 * Maps an error from an upstream call to the catalog. `afterHeaders` tells whether the
 * upstream had already started answering: a broken connection then is an interrupted
 * stream, not an unreachable upstream. Aborts and SluiceErrors pass through unchanged.
 */
export function mapUpstreamError(err: unknown, provider: string, afterHeaders: boolean): unknown {
  if (err instanceof SluiceError) return err;
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return err;
  const code = errorCode(err);
  if (code !== undefined && timeoutCodes.has(code)) {
    const what = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connecting' : code === 'UND_ERR_HEADERS_TIMEOUT' ? 'waiting for the first byte' : 'waiting for the next chunk';
    return new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT', { message: `Provider "${provider}" timed out ${what}.`, cause: err });
  }
  if (afterHeaders) {
    return new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${provider}" broke off (${code ?? 'connection lost'}).`, cause: err });
  }
  if (code !== undefined && unreachableCodes.has(code)) {
    return new SluiceError('SLUICE_ERR_UPSTREAM_UNREACHABLE', { message: `Provider "${provider}" could not be reached (${code}).`, cause: err });
  }
  return new SluiceError('SLUICE_ERR_UPSTREAM_UNREACHABLE', { message: `Provider "${provider}" failed: ${(err as Error | null)?.message ?? String(err)}.`, cause: err });
}

/**
 * `err` without credentials in the text a client or a log sees: its message and the
 * upstream's code and type (issue 15: providers echo the key they were sent). The same error
 * when nothing needed scrubbing, which is nearly always.
 */
export function redactError(err: SluiceError, redactor: Redactor): SluiceError {
  const message = redactor.scrub(err.message);
  const up = err.upstream;
  const code = up?.code == null ? null : redactor.scrub(up.code);
  const type = up?.type == null ? null : redactor.scrub(up.type);
  if (message === err.message && code === (up?.code ?? null) && type === (up?.type ?? null)) return err;
  return new SluiceError(err.code, {
    status: err.status,
    message,
    ...(err.param === null ? {} : { param: err.param }),
    ...(err.headers === null ? {} : { headers: err.headers }),
    ...(up === null ? {} : { upstream: { status: up.status, code, type } }),
    cause: err.cause,
  });
}
