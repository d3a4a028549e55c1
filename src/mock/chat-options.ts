/**
 * What an OpenAI chat request asks of the mock beyond its messages: how many choices (`n`),
 * structured output (`response_format`), `logprobs` / `top_logprobs`, and whether it asks for
 * something a text model cannot do (audio in or out, image generation), which the mock refuses
 * with a 400 as a text-only model does, instead of answering text as if it had been heard.
 */
import type { JsonObject } from '../providers/types.js';
import { isRecord } from '../lib/json.js';
import { mulberry32 } from '../lib/random.js';
import type { ChoiceLogprobs, TokenLogprob } from './openai-types.js';

/** `response_format` other than text. */
export type StructuredFormat = { readonly kind: 'json_object' } | { readonly kind: 'json_schema'; readonly schema: unknown };

export interface ChatOptions {
  /** Choices to answer, 1–128 (OpenAI's bounds). */
  readonly n: number;
  readonly format: StructuredFormat | null;
  readonly logprobs: boolean;
  /** Alternatives per token, 0–20. */
  readonly topLogprobs: number;
}

/** Why the mock refuses a request: a modality it does not have, or a parameter out of its bounds. */
export interface MockRefusal {
  readonly kind: 'modality' | 'invalid';
  readonly param: string;
  readonly message: string;
}

const MAX_N = 128;
const MAX_TOP_LOGPROBS = 20;

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

const modality = (param: string, what: string): MockRefusal => ({ kind: 'modality', param, message: `The model answers text only: ${what} is not supported.` });
const invalid = (param: string, message: string): MockRefusal => ({ kind: 'invalid', param, message });

/** The first thing in a chat body the mock cannot honour, or null. */
export function chatRefusal(body: JsonObject): MockRefusal | null {
  const modalities = Array.isArray(body.modalities) ? body.modalities : [];
  const other = modalities.find((m) => m !== 'text');
  if (other !== undefined) return modality('modalities', `output modality ${JSON.stringify(other)}`);
  if (body.audio !== undefined && body.audio !== null) return modality('audio', 'audio output');
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const [i, m] of messages.entries()) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const [j, part] of m.content.entries()) {
      if (isRecord(part) && (part.type === 'input_audio' || part.type === 'audio')) return modality(`messages[${i}].content[${j}]`, 'audio input');
    }
  }
  const tools = Array.isArray(body.tools) ? body.tools : [];
  for (const [i, t] of tools.entries()) if (isRecord(t) && t.type === 'image_generation') return modality(`tools[${i}]`, 'image generation');
  if (body.n !== undefined && body.n !== null && !isInt(body.n, 1, MAX_N)) return invalid('n', `"n" must be an integer from 1 to ${MAX_N}.`);
  const top = body.top_logprobs;
  if (top !== undefined && top !== null) {
    if (!isInt(top, 0, MAX_TOP_LOGPROBS)) return invalid('top_logprobs', `"top_logprobs" must be an integer from 0 to ${MAX_TOP_LOGPROBS}.`);
    if (body.logprobs !== true) return invalid('top_logprobs', '"logprobs" must be true when "top_logprobs" is set.');
  }
  const rf = body.response_format;
  if (rf !== undefined && rf !== null) {
    if (!isRecord(rf) || !['text', 'json_object', 'json_schema'].includes(rf.type as string)) return invalid('response_format.type', '"response_format.type" must be "text", "json_object" or "json_schema".');
    if (rf.type === 'json_schema' && !isRecord(rf.json_schema)) return invalid('response_format.json_schema', '"response_format.json_schema" must be an object.');
  }
  return null;
}

/** The options of a chat body that chatRefusal accepted (anything else falls back to the defaults). */
export function chatOptions(body: JsonObject): ChatOptions {
  const rf = isRecord(body.response_format) ? body.response_format : {};
  let format: StructuredFormat | null = null;
  if (rf.type === 'json_object') format = { kind: 'json_object' };
  else if (rf.type === 'json_schema') {
    const js = isRecord(rf.json_schema) ? rf.json_schema : {};
    format = { kind: 'json_schema', schema: isRecord(js.schema) ? js.schema : { type: 'object' } };
  }
  return {
    n: isInt(body.n, 1, MAX_N) ? body.n : 1,
    format,
    logprobs: body.logprobs === true,
    topLogprobs: isInt(body.top_logprobs, 0, MAX_TOP_LOGPROBS) ? body.top_logprobs : 0,
  };
}

/**
 * JSON with a space after each `:` and `,` (as Python's json.dumps writes it), so the text
 * splits on spaces into token-like pieces and `pieces.join(' ')` gives it back exactly.
 */
export function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (isRecord(value)) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${spacedJson(v)}`).join(', ')}}`;
  return JSON.stringify(value) ?? 'null';
}

function bytes(token: string): number[] {
  return [...Buffer.from(token, 'utf8')];
}

/** Rounded so the numbers read like the API's and survive JSON unchanged. */
function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/**
 * Log probabilities for the streamed pieces of an answer: each piece's own (between −2 and 0)
 * first among its alternatives, then `top` − 1 other words, each less likely than the last.
 * Derived from `seed` (from the answer's hash), so the same answer has the same numbers.
 */
export function tokenLogprobs(pieces: readonly string[], top: number, seed: number, vocabulary: readonly string[]): TokenLogprob[] {
  const rng = mulberry32(seed);
  return pieces.map((token, i) => {
    const logprob = round(-rng() * 2);
    const alternatives: TokenLogprob['top_logprobs'] = [];
    if (top > 0) alternatives.push({ token, logprob, bytes: bytes(token) });
    let lp = logprob;
    for (let k = 1; k < top; k++) {
      lp = round(lp - 0.25 - rng());
      const word = vocabulary[Math.floor(rng() * vocabulary.length)]!;
      const alt = i === 0 ? word : ` ${word}`;
      alternatives.push({ token: alt === token ? `${alt}s` : alt, logprob: lp, bytes: bytes(alt === token ? `${alt}s` : alt) });
    }
    return { token, logprob, bytes: bytes(token), top_logprobs: alternatives };
  });
}

export function choiceLogprobs(content: TokenLogprob[]): ChoiceLogprobs {
  return { content, refusal: null };
}
