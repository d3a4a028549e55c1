import type { Limits } from '../../config/compile.js';
import type { LimitRule } from '../../stores/types.js';

/** One limit of one scope, with what it counts. */
export interface ScopedRule extends LimitRule {
  /** Policy name for the RateLimit headers, e.g. "key-rpm". */
  readonly policy: string;
  /** 'requests' costs 1 per request; 'tokens' costs the estimated tokens, corrected later. */
  readonly unit: 'requests' | 'tokens';
}

const windows = [
  ['rps', 1_000, 'requests'],
  ['rpm', 60_000, 'requests'],
  ['rpd', 86_400_000, 'requests'],
  ['tpm', 60_000, 'tokens'],
  ['tpd', 86_400_000, 'tokens'],
] as const;

/**
 * The rules of one scope (`kind` names it in headers; `id` makes the store key). Burst is a
 * multiple of each limit: 1 lets a full window's quota be spent at once, as most clients
 * expect from "N per minute".
 */
export function rulesFor(kind: string, id: string, limits: Limits | null): ScopedRule[] {
  if (limits === null) return [];
  const out: ScopedRule[] = [];
  for (const [field, windowMs, unit] of windows) {
    const limit = limits[field];
    if (limit === null) continue;
    out.push({ key: `${kind}:${id}:${field}`, limit, windowMs, burst: Math.max(1, Math.round(limit * limits.burst)), policy: `${kind}-${field}`, unit });
  }
  return out;
}

/** Key-level limits over the tier's, field by field. */
export function mergeLimits(base: Limits | null, over: Limits | null): Limits | null {
  if (over === null) return base;
  if (base === null) return over;
  return {
    rps: over.rps ?? base.rps,
    rpm: over.rpm ?? base.rpm,
    rpd: over.rpd ?? base.rpd,
    tpm: over.tpm ?? base.tpm,
    tpd: over.tpd ?? base.tpd,
    concurrent: over.concurrent ?? base.concurrent,
    burst: over.burst,
  };
}
