import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { credentialHeader } from '../policies/identify/identifier.js';
import type { Principal } from '../exchange/principal.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are about one connection and are never forwarded, nor
 * are the headers the Connection header names. `expect` is answered by the gateway's own
 * server (100-continue) and `proxy-connection` is a non-standard relative of `connection`.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** Headers the gateway sets itself on the way upstream (after dropping the client's when untrusted). */
const FORWARDING = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'] as const;

/** A copy of `headers` without hop-by-hop headers and without those listed in its Connection header. */
export function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name) === true) continue;
    out[name] = value;
  }
  return out;
}

/** The header names a Connection header lists; null when none beyond the hop-by-hop ones (the common `keep-alive`, `close`). */
function connectionTokens(v: string | string[] | undefined): Set<string> | null {
  if (v === undefined || v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close') return null;
  const s = Array.isArray(v) ? v.join(',') : v;
  return new Set(s.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) as `127.0.0.1`. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The headers sent upstream: end-to-end headers of the client, Host set to the instance (as
 * nginx's proxy_pass does; the client's host travels in X-Forwarded-Host and Forwarded), the
 * request id, and X-Forwarded-For/-Proto/-Host plus Forwarded (RFC 7239). A trusted proxy's
 * forwarding headers are extended; anyone else's are replaced, so a client cannot forge its
 * address. `strip` names a header left out: the Sluice credential (`credentialToStrip`).
 */
export function upstreamHeaders(req: IncomingMessage, instanceHost: string, requestId: string, trusted: boolean, strip: string | null = null): OutgoingHttpHeaders {
  const out = endToEnd(req.headers);
  const incoming = req.headers;
  if (strip !== null) delete out[strip];
  for (const name of FORWARDING) delete out[name];
  const peer = plainIp(req.socket.remoteAddress ?? '');
  const proto = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
  const host = incoming.host ?? '';
  const prior = (name: string): string | null => {
    const v = incoming[name];
    return trusted && typeof v === 'string' && v !== '' ? v : null;
  };
  const xff = prior('x-forwarded-for');
  out['x-forwarded-for'] = xff === null ? peer : `${xff}, ${peer}`;
  out['x-forwarded-proto'] = prior('x-forwarded-proto') ?? proto;
  out['x-forwarded-host'] = prior('x-forwarded-host') ?? host;
  const element = `for=${forwardedNode(peer)};host=${quoted(host)};proto=${proto}`;
  const fwd = prior('forwarded');
  out.forwarded = fwd === null ? element : `${fwd}, ${element}`;
  out.host = instanceHost;
  out['x-request-id'] = requestId;
  return out;
}

/**
 * The header that carried the credential Sluice accepted for this request, which a service's
 * instances do not get unless the service opts in (`forwardCredentials`): the client's gateway
 * key is not the backend's to see (issue 15). A header Sluice did not accept (an anonymous
 * request on an open service) is the backend's own and passes.
 */
export function credentialToStrip(forwardCredentials: boolean, principal: Principal, headers: IncomingHttpHeaders): string | null {
  return forwardCredentials || principal.kind === 'anonymous' ? null : credentialHeader(headers);
}

/** RFC 7239 §6: IPv6 nodes are bracketed and quoted. */
function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

let lastHost = '';
let lastQuoted = '';

/** A Forwarded value as a token or a quoted string; the last one is kept (one host in front of most instances). */
function quoted(v: string): string {
  if (v === lastHost) return lastQuoted;
  lastHost = v;
  lastQuoted = quotedString(v);
  return lastQuoted;
}

function quotedString(v: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The upstream path of a request: the matched prefix replaced (`rewrite`), under the
 * instance's own base path. The query is kept as it came.
 */
export function rewritePath(url: string, pathPrefix: string, replacement: string | null, basePath: string): string {
  let path = url;
  if (replacement !== null) {
    const rest = url.slice(pathPrefix.length);
    path = joinPath(replacement, rest);
  }
  if (basePath !== '') path = joinPath(basePath, path);
  return path.startsWith('/') ? path : `/${path}`;
}

function joinPath(a: string, b: string): string {
  if (b === '' || b.startsWith('?')) return a + b;
  if (a.endsWith('/') && b.startsWith('/')) return a + b.slice(1);
  if (!a.endsWith('/') && !b.startsWith('/')) return `${a}/${b}`;
  return a + b;
}
