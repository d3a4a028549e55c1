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

/** Where an answer lives: a namespace (a route's, or one several routes share), a tenant within it, a version. */
export interface CacheScope {
  readonly namespace: string;
  readonly tenant: string;
  readonly version: number;
}

/**
 * One part of a key, escaped so that `|` separates parts unambiguously and no part holds a
 * glob character (Redis SCAN patterns match on these keys when purging).
 */
export function keyPart(s: string): string {
  return encodeURIComponent(s).replace(/\*/g, '%2A');
}

/** The prefix every key of a scope starts with: `namespace|tenant|vN|`. */
export function scopePrefix(scope: CacheScope): string {
  return `${keyPart(scope.namespace)}|${keyPart(scope.tenant)}|v${scope.version}|`;
}

/**
 * The cache key of a request: its scope, then a hash of its canonical content (model,
 * messages or input, and every parameter that changes the output). A version bump therefore
 * invalidates a route without a scan.
 */
export function cacheKey(endpoint: Endpoint, body: JsonObject, scope: CacheScope): string {
  const content: JsonObject = {};
  for (const [k, v] of Object.entries(body)) if (!ignored.has(k)) content[k] = v;
  const hash = createHash('sha256').update(`${endpoint}\n${canonical(content)}`).digest('base64url');
  return scopePrefix(scope) + hash;
}

/** What an admin purge removes: everything, a namespace, and within it a tenant and/or a version. */
export interface PurgeFilter {
  readonly namespace?: string;
  readonly tenant?: string;
  readonly version?: number;
}

/** Whether a key falls under a purge filter. */
export function keyMatches(key: string, f: PurgeFilter): boolean {
  const [ns, tenant, version] = key.split('|');
  return (f.namespace === undefined || ns === keyPart(f.namespace)) && (f.tenant === undefined || tenant === keyPart(f.tenant)) && (f.version === undefined || version === `v${f.version}`);
}

/** A Redis SCAN pattern matching the keys under a purge filter (after the store's prefix). */
export function purgePattern(f: PurgeFilter): string {
  const part = (v: string | undefined): string => (v === undefined ? '*' : keyPart(v));
  return `${part(f.namespace)}|${part(f.tenant)}|${f.version === undefined ? '*' : `v${f.version}`}|*`;
}
