import { isRecord } from '../../lib/json.js';
import type { Endpoint, JsonObject } from '../../providers/types.js';
import type { CancelSignal } from '../../lib/cancel.js';

/** Turns a text into a unit vector; null when the embedding target failed (the lookup is skipped). */
export type Embedder = (text: string, signal: CancelSignal) => Promise<Float32Array | null>;

/** The prompt a semantic lookup compares: the conversation's text, or a completion's prompt. */
export function promptText(endpoint: Endpoint, body: JsonObject): string | null {
  if (endpoint === 'completions') return typeof body.prompt === 'string' ? body.prompt : null;
  if (endpoint !== 'chat' || !Array.isArray(body.messages)) return null;
  const lines: string[] = [];
  for (const m of body.messages) {
    if (!isRecord(m)) continue;
    const c = m.content;
    const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join(' ') : '';
    lines.push(`${String(m.role)}: ${text}`);
  }
  return lines.join('\n');
}

/** The request without its prompt: only requests equal in everything else may match semantically. */
export function withoutPrompt(body: JsonObject): JsonObject {
  const { messages: _m, prompt: _p, ...rest } = body;
  return rest;
}

/** Reads the first vector of an OpenAI embeddings answer, normalised to unit length. */
export function vectorOf(body: string): Float32Array | null {
  const v = JSON.parse(body) as unknown;
  const first = isRecord(v) && Array.isArray(v.data) ? (v.data[0] as unknown) : null;
  if (!isRecord(first) || !Array.isArray(first.embedding)) return null;
  const out = Float32Array.from(first.embedding as number[]);
  let sum = 0;
  for (const x of out) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) return null;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -1;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

interface Bucket {
  vectors: Float32Array[];
  keys: string[];
}

/**
 * The in-process index of cached prompts for the semantic cache: per bucket (namespace,
 * tenant, version and every request parameter but the prompt) the embedded prompts and the
 * exact keys of their answers, searched by brute-force cosine similarity. Bounded in entries,
 * oldest first out. Buckets never mix, so a lookup never crosses namespaces or tenants.
 */
export class SemanticIndex {
  readonly #buckets = new Map<string, Bucket>();
  readonly #order: [string, string][] = [];
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** The nearest cached prompt at or above `threshold`, or null. */
  nearest(bucket: string, vector: Float32Array, threshold: number): { key: string; similarity: number } | null {
    const b = this.#buckets.get(bucket);
    if (b === undefined) return null;
    let best = -1;
    let at = -1;
    for (let i = 0; i < b.vectors.length; i++) {
      const s = dot(vector, b.vectors[i]!);
      if (s > best) {
        best = s;
        at = i;
      }
    }
    return at >= 0 && best >= threshold ? { key: b.keys[at]!, similarity: best } : null;
  }

  add(bucket: string, vector: Float32Array, key: string): void {
    let b = this.#buckets.get(bucket);
    if (b === undefined) {
      b = { vectors: [], keys: [] };
      this.#buckets.set(bucket, b);
    }
    if (b.keys.includes(key)) return;
    b.vectors.push(vector);
    b.keys.push(key);
    this.#order.push([bucket, key]);
    while (this.#order.length > this.#maxEntries) {
      const [ob, ok] = this.#order.shift()!;
      this.remove(ob, ok);
    }
  }

  /** Drops an entry whose answer is gone from the cache. */
  remove(bucket: string, key: string): void {
    const b = this.#buckets.get(bucket);
    if (b === undefined) return;
    const i = b.keys.indexOf(key);
    if (i < 0) return;
    b.keys.splice(i, 1);
    b.vectors.splice(i, 1);
    if (b.keys.length === 0) this.#buckets.delete(bucket);
  }

  get size(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.keys.length;
    return n;
  }
}
