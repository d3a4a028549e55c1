/** OpenAI embeddings ↔ Gemini `batchEmbedContents`. Pure. */
import type { JsonObject } from '../types.js';
import { badResponse, unsupported } from '../http/errors.js';
import { arr, isRecord } from '../http/json.js';

/** The texts of an OpenAI `input`; token arrays have no Gemini counterpart. */
export function embeddingTexts(input: unknown, provider: string): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((x): x is string => typeof x === 'string')) return input;
  throw unsupported(provider, 'input', 'token arrays as embedding input (send text)');
}

export function geminiEmbedRequestFromOpenAI(body: JsonObject, modelId: string, provider: string): JsonObject {
  const texts = embeddingTexts(body.input, provider);
  const dims = typeof body.dimensions === 'number' ? body.dimensions : null;
  return {
    requests: texts.map((text) => {
      const r: JsonObject = { model: `models/${decodeURIComponent(modelId)}`, content: { parts: [{ text }] } };
      if (dims !== null) r.outputDimensionality = dims;
      return r;
    }),
  };
}

/** OpenAI's base64 encoding: little-endian float32, what the official SDK asks for by default. */
function toBase64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, i * 4);
  return buf.toString('base64');
}

export interface OpenAIEmbeddingList {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/**
 * Gemini's batch answer does not report tokens, so usage is estimated as ceil(characters / 4)
 * of the input, the same rule the mock uses; docs/providers.md says so.
 */
export function openAIEmbeddingsFromGemini(resp: JsonObject, body: JsonObject, provider: string): OpenAIEmbeddingList {
  const embeddings = arr(resp.embeddings);
  const texts = embeddingTexts(body.input, provider);
  if (embeddings.length !== texts.length) throw badResponse(provider, `${embeddings.length} embeddings for ${texts.length} inputs`);
  const base64 = body.encoding_format === 'base64';
  const data = embeddings.map((e, index) => {
    const values = isRecord(e) ? arr(e.values) : [];
    if (!values.every((v): v is number => typeof v === 'number')) throw badResponse(provider, 'an embedding that is not a list of numbers');
    return { object: 'embedding' as const, index, embedding: base64 ? toBase64(values) : values };
  });
  const tokens = Math.ceil(texts.reduce((n, t) => n + t.length, 0) / 4);
  return { object: 'list', data, model: String(body.model), usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
