/**
 * Error kinds, so a run reports "412 timeout, 3 connection_refused" instead of one count.
 * Kinds (docs/bench.md lists them): http_<status>, timeout, connect_timeout,
 * connection_refused, connection_reset, connection_closed, no_ports, fd_limit, other (before
 * the response headers); body_timeout, body_broken (a JSON body cut off); stream_timeout,
 * stream_broken, stream_error_event, stream_truncated (streams); bad_response; unfinished
 * (still running when the run ended).
 */

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
}

/**
 * Kind of a failed request. `phase` says where it failed: null before the response headers,
 * 'body' while reading a JSON body, 'stream' while reading a stream.
 */
export function classifyError(err: unknown, phase: 'body' | 'stream' | null): { kind: string; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : typeof cause.code === 'string' ? cause.code : '';
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  const kind = kindOf(code);
  if (phase !== null) {
    if (kind === 'timeout') return { kind: `${phase}_timeout`, message };
    return { kind: `${phase}_broken`, message: code === '' ? message : `${code}: ${message}` };
  }
  return { kind, message: code === '' ? message : `${code}: ${message}` };
}

function kindOf(code: string): string {
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'connection_closed';
    case 'EADDRNOTAVAIL':
    case 'EADDRINUSE':
      return 'no_ports';
    case 'EMFILE':
    case 'ENFILE':
      return 'fd_limit';
    default:
      return 'other';
  }
}
