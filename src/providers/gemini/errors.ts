/** Gemini error answers → catalog errors. */
import { SluiceError } from '../../errors.js';
import { isRecord, num, str } from '../http/json.js';
import { upstreamStatusError } from '../upstream-error.js';

/** The Google error object (`{code, message, status}`) from a body or stream event, if any. */
export function googleError(value: unknown): { code: number | null; message: string; status: string | null } | null {
  const outer = Array.isArray(value) ? (value[0] as unknown) : value;
  if (!isRecord(outer) || !isRecord(outer.error)) return null;
  const e = outer.error;
  return { code: num(e.code), message: str(e.message) ?? 'unknown error', status: str(e.status) };
}

/**
 * An error status from Gemini. Google's body is `{error:{code, message, status}}`; the
 * status name (`RESOURCE_EXHAUSTED`, `INVALID_ARGUMENT` …) is kept as the upstream code.
 */
export function geminiStatusError(status: number, bodyText: string, retryAfter: string | null): SluiceError {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    // Not JSON: upstreamStatusError keeps a generic message.
  }
  const e = googleError(parsed);
  const normalised = e === null ? bodyText : JSON.stringify({ error: { message: e.message, code: e.status } });
  return upstreamStatusError(status, normalised, retryAfter);
}

/** An error object sent inside a stream; before any content it stands for an error status. */
export function geminiStreamError(provider: string, data: unknown, committed: boolean): SluiceError {
  const e = googleError(data) ?? { code: null, message: 'unknown error', status: null };
  const status = e.code !== null && e.code >= 400 && e.code <= 599 ? e.code : 500;
  const upstream = { status, code: e.status, type: null };
  if (!committed) return new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status, message: `Upstream ${status}: ${e.message}`, upstream });
  return new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${provider}" ended with an error: ${e.message}`, upstream });
}
