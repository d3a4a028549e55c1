import type { Candidate } from '../../src/routing/strategies.js';
import { mulberry32 } from '../../src/lib/random.js';

export { mulberry32 };

/** A random source that returns the given values in turn (then repeats the last). */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

export function candidate(index: number, fields: Partial<Omit<Candidate, 'index'>> = {}): Candidate {
  return { index, weight: 1, inFlight: 0, region: null, latency: 0, price: null, ...fields };
}
