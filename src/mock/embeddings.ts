/**
 * The mock's embeddings: a vector per input text, derived from the text alone (see
 * embeddingVector), as floats or in OpenAI's base64 encoding.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../lib/random.js';

/** 32-bit unsigned integer from the first 8 hex digits of the sha256 of a word. */
function wordSeed(word: string): number {
  return Number.parseInt(createHash('sha256').update(word).digest('hex').slice(0, 8), 16) >>> 0;
}

/** The texts of an embeddings `input`: a string, strings, or token arrays (as their JSON). */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) return [];
  // A flat array of numbers is one tokenised input, not many.
  if (input.length > 0 && input.every((x) => typeof x === 'number')) return [JSON.stringify(input)];
  return input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x) ?? ''));
}

/**
 * A unit-length vector derived from the text alone, so batch position never changes it: the
 * sum of one pseudo-random direction per word (lower-cased), normalised. Texts sharing most
 * of their words point the same way, as real embeddings of similar texts do, which is what a
 * semantic cache needs to be tested against; a text without words gets its own direction.
 */
export function embeddingVector(text: string, dimensions: number): number[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  const v = new Array<number>(dimensions).fill(0);
  for (const word of words) {
    const rng = mulberry32(wordSeed(word));
    for (let i = 0; i < dimensions; i++) v[i] = (v[i] as number) + rng() * 2 - 1;
  }
  let sumSq = 0;
  for (let i = 0; i < dimensions; i++) sumSq += (v[i] as number) ** 2;
  const norm = Math.sqrt(sumSq) || 1;
  for (let i = 0; i < dimensions; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** OpenAI's base64 embedding encoding: little-endian float32, what the official SDK asks for. */
export function toBase64(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i] as number, i * 4);
  return buf.toString('base64');
}
