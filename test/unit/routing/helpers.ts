import type { Candidate } from '../../../src/routing/strategies.js';

/** mulberry32: a tiny seeded PRNG, so tests that use randomness are repeatable. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source that returns the given values in turn (then repeats the last). */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

export function candidate(index: number, fields: Partial<Omit<Candidate, 'index'>> = {}): Candidate {
  return { index, weight: 1, inFlight: 0, region: null, latency: 0, price: null, ...fields };
}
