import { createHash } from 'node:crypto';
import type { Endpoint, JsonObject } from '../../providers/types.js';

/** Fields that do not change an answer: how it is delivered, or who asked. */
const ignored = new Set(['stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier']);

/** JSON with object keys sorted at every level, so equal requests give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The cache key of a request: a hash of its canonical content (model, messages or input,
 * and every parameter that changes the output), the tenant namespace and the route's cache
 * version. A version bump therefore invalidates a route without a scan.
 */
export function cacheKey(endpoint: Endpoint, body: JsonObject, namespace: string, version: number): string {
  const content: JsonObject = {};
  for (const [k, v] of Object.entries(body)) if (!ignored.has(k)) content[k] = v;
  const hash = createHash('sha256').update(`${endpoint}\n${canonical(content)}`).digest('base64url');
  return `${namespace}|v${version}|${hash}`;
}
