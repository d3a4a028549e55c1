import type { LimitResult } from '../../stores/types.js';
import type { ScopedRule } from './rules.js';

/**
 * RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers): every policy
 * that applied, and the state of the one with the least quota left, as the draft asks.
 */
export function rateLimitHeaders(rules: readonly ScopedRule[], results: readonly LimitResult[]): Record<string, string> {
  if (rules.length === 0) return {};
  return { 'ratelimit-policy': rateLimitPolicy(rules), ratelimit: rateLimitState(rules, results) };
}

/** The RateLimit-Policy field: it depends on the rules alone, so admission computes it once per principal. */
export function rateLimitPolicy(rules: readonly ScopedRule[]): string {
  return rules.map((r) => `${r.policy};q=${r.limit};w=${Math.round(r.windowMs / 1000)}${r.unit === 'tokens' ? ';qu="tokens"' : ''}`).join(', ');
}

/** The RateLimit field: the state of the rule with the least quota left. */
export function rateLimitState(rules: readonly ScopedRule[], results: readonly LimitResult[]): string {
  let tightest = 0;
  for (let i = 1; i < results.length; i++) {
    const a = results[i]!;
    const b = results[tightest]!;
    if (a.remaining / rules[i]!.limit < b.remaining / rules[tightest]!.limit) tightest = i;
  }
  const r = results[tightest]!;
  return `${rules[tightest]!.policy};r=${r.remaining};t=${Math.ceil(r.resetMs / 1000)}`;
}
