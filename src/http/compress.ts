import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Transform } from 'node:stream';

export type Encoding = 'br' | 'gzip';

/** Types worth compressing: text, JSON, JavaScript, XML and SVG; images, video and archives are already compressed. */
const compressible = /^(text\/|application\/(json|javascript|xml|x-ndjson|graphql-response\+json|problem\+json)|application\/[\w.+-]+\+(json|xml)|image\/svg\+xml)/i;

/**
 * The encoding to use for a client's Accept-Encoding (RFC 9110 §12.5.3): brotli when it is
 * accepted (smaller at the fast setting used here), else gzip; null when neither is, or both
 * carry q=0.
 */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): Encoding | null {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : acceptEncoding;
  if (header === undefined || header === '') return null;
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (token === undefined || token === '') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    q.set(token, qParam === undefined ? 1 : Number(qParam.slice(2)) || 0);
  }
  const star = q.get('*');
  const accepts = (e: Encoding): boolean => (q.get(e) ?? star ?? 0) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip')) return 'gzip';
  return null;
}

/** Whether an upstream answer may be compressed for the client (not yet encoded, a compressible type, big enough). */
export function shouldCompress(method: string, status: number, headers: Record<string, string | string[] | undefined>, minBytes: number): boolean {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 206 || status === 304) return false;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  const type = headers['content-type'];
  if (typeof type !== 'string' || !compressible.test(type)) return false;
  if (/\bno-transform\b/i.test(String(headers['cache-control'] ?? ''))) return false;
  const length = headers['content-length'];
  return length === undefined || Number(length) >= minBytes;
}

/** A streaming compressor; brotli at quality 4, about gzip's speed with smaller output (quality 11, the default, is far too slow for a proxy). */
export function compressor(encoding: Encoding): Transform {
  return encoding === 'br'
    ? createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
    : createGzip({ level: 6 });
}
