import type { Candidate } from './types.js';

/**
 * Power of two choices (Mitzenmacher): sample two distinct candidates at random and keep the
 * one with the lower score. Nearly as good as scanning for the minimum, but a burst does not
 * pile onto the single best target while its score is stale, and it is O(1).
 * Ties go to fewer requests in flight, then to the lower index.
 */
export function pickOfTwo(candidates: readonly Candidate[], random: () => number, score: (c: Candidate) => number): Candidate | null {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  const i = randomInt(n, random);
  let j = randomInt(n - 1, random);
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  const sa = score(a);
  const sb = score(b);
  if (sa !== sb) return sa < sb ? a : b;
  if (a.inFlight !== b.inFlight) return a.inFlight < b.inFlight ? a : b;
  return a.index < b.index ? a : b;
}

/** An integer in [0, n); clamped because a custom `random` might return exactly 1. */
function randomInt(n: number, random: () => number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(random() * n)));
}
