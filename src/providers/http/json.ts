/** Small readers for untyped JSON, shared by the translators. */
import type { JsonObject } from '../types.js';
import { invalidParam } from './errors.js';
import { isRecord as isPlainObject } from '../../lib/json.js';

/** The shared guard, typed for the translators' JsonObject. */
export const isRecord = isPlainObject as (v: unknown) => v is JsonObject;

/** A JSON object parsed from text, or null when the text is not JSON or not an object. */
export function parseObject(text: string): JsonObject | null {
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : null;
  } catch {
    return null;
  }
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The array, or an empty one. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A `data:` URL split into its media type and base64 payload; null for anything else. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m === null ? null : { mediaType: m[1]!, data: m[2]! };
}

/** The text of an OpenAI `content`: a string, or the text parts of an array joined. */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of arr(content)) if (isRecord(part) && typeof part.text === 'string') out += part.text;
  return out;
}

/** Tool arguments are JSON text in OpenAI and an object in Anthropic and Gemini. */
export function parseToolArguments(args: unknown, param: string): JsonObject {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') throw invalidParam(param, 'must be a string of JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw invalidParam(param, 'must be valid JSON');
  }
  if (!isRecord(parsed)) throw invalidParam(param, 'must be a JSON object');
  return parsed;
}
