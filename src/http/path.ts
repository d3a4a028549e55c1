/**
 * Request-target normalisation for HTTP services, before matching and forwarding, as nginx
 * and Envoy do (issue 15): otherwise `/api/../admin/keys` or `/api/%2e%2e/admin` matches the
 * `/api/` service on its raw text and reaches the backend outside the prefix.
 *
 * 1. Percent-encoded unreserved characters (RFC 3986 §2.3: ALPHA DIGIT - . _ ~) are decoded,
 *    so `%2e%2e` is `..`; every other escape is kept, in upper case (§6.2.2.1).
 * 2. Dot segments are removed (RFC 3986 §5.2.4). A `..` that would climb above the root is
 *    refused, as nginx refuses it, rather than silently dropped.
 * 3. Encoded slashes and backslashes (`%2F`, `%5C`) are kept encoded, so they never make new
 *    segments here; a service refuses them unless it sets `allowEncodedSlashes` (backends
 *    that decode them would see a different path than the one matched).
 *
 * Refused outright: a literal backslash, an encoded NUL, a malformed `%` escape, a target
 * that is not a path (absolute-form or `*`).
 */

/** The normalised request target (path and the query as sent), or null when it is refused. */
export function normalizeTarget(url: string): string | null {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  if (rawPath.length === 0 || rawPath.charCodeAt(0) !== 0x2f /* / */) return null;
  const decoded = decodeUnreserved(rawPath);
  if (decoded === null) return null;
  const path = removeDotSegments(decoded);
  if (path === null) return null;
  return q === -1 ? path : path + url.slice(q);
}

/** Whether a normalised path holds an encoded slash or backslash (see point 3 above). */
export function hasEncodedSlash(target: string): boolean {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  return /%(?:2F|5C)/.test(path);
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function decodeUnreserved(path: string): string | null {
  if (path.includes('\\')) return null;
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return null;
    const byte = parseInt(hex, 16);
    if (byte === 0) return null;
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 on an absolute path; null when `..` climbs above the root. */
function removeDotSegments(path: string): string | null {
  if (!path.includes('.')) return path;
  const segments = path.split('/');
  // segments[0] is '' (the path starts with '/').
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') {
        if (out.length === 0) return null;
        out.pop();
      }
      // `/a/b/..` is `/a/`: a dot segment at the end leaves a directory.
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}
