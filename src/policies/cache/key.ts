import { hash } from 'node:crypto';
import type { Endpoint, JsonObject } from '../../providers/types.js';

/** Fields that do not change an answer: how it is delivered, or who asked. */
const ignored = new Set(['stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier']);

/**
 * JSON with object keys sorted at every level, so equal requests give equal text. Written
 * with plain loops: it runs on every cacheable request, and the filter/map/join version cost
 * twice as much (issue #7). `skip` leaves top-level fields out.
 */
function canonical(value: unknown, skip: ReadonlySet<string> | null = null): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonical(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    let out = '{';
    for (const k of keys) {
      const v = o[k];
      if (v === undefined || (skip !== null && skip.has(k))) continue;
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${canonical(v)}`;
    }
    return `${out}}`;
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

/** Escaped scope prefixes by scope, so a request does not escape its scope again. */
const prefixes = new Map<string, string>();
const MAX_PREFIXES = 10_000;

/** The prefix every key of a scope starts with: `namespace|tenant|vN|`. */
export function scopePrefix(scope: CacheScope): string {
  const id = `${scope.namespace}\n${scope.tenant}\n${scope.version}`;
  let prefix = prefixes.get(id);
  if (prefix === undefined) {
    prefix = `${keyPart(scope.namespace)}|${keyPart(scope.tenant)}|v${scope.version}|`;
    // Tenants come and go (one per key or user): start over rather than grow without bound.
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefixes.set(id, prefix);
  }
  return prefix;
}

/** The hash of a request's canonical content. */
function contentHash(endpoint: Endpoint, body: JsonObject): string {
  return hash('sha256', `${endpoint}\n${canonical(body, ignored)}`, 'base64url');
}

/**
 * Keys by the exact JSON text their body was parsed from, per endpoint: a client that repeats
 * a request (what a cache hit is) sends the same bytes, and a Map lookup on them costs a
 * fraction of canonicalising and hashing the parsed body again (issue 19). An entry serves
 * only the scope it was made in (a lookup from another tenant takes the full path, so timing
 * says nothing across tenants). Bounded in entries and in the length of the texts kept, and
 * cleared when full: a shortcut, never the source of truth, since equal texts give equal bodies.
 */
const byText = new Map<Endpoint, Map<string, string>>();
const MEMO_MAX_TEXT = 4096;
const MEMO_MAX_ENTRIES = 1024;

/**
 * The cache key of a request: its scope, then a hash of its canonical content (model,
 * messages or input, and every parameter that changes the output). A version bump therefore
 * invalidates a route without a scan. `text`, when given, must be the JSON text `body` was
 * parsed from, unchanged (RequestContext.bodyText): short texts are memoised.
 */
export function cacheKey(endpoint: Endpoint, body: JsonObject, scope: CacheScope, text: string | null = null): string {
  const prefix = scopePrefix(scope);
  if (text === null || text.length > MEMO_MAX_TEXT) return prefix + contentHash(endpoint, body);
  let memo = byText.get(endpoint);
  if (memo === undefined) {
    memo = new Map();
    byText.set(endpoint, memo);
  }
  const known = memo.get(text);
  // A prefix ends at its third `|` and its parts escape `|`, so no other scope's key starts with it.
  if (known !== undefined && known.startsWith(prefix)) return known;
  const key = prefix + contentHash(endpoint, body);
  if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
  memo.set(text, key);
  return key;
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
