/** Reading upstream response bodies, shared by the HTTP adapters. */
import type { Dispatcher } from 'undici';
import type { JsonObject } from '../types.js';
import { badResponse } from './errors.js';
import { parseObject } from './json.js';

/** Upstream error bodies are read up to this size; the rest is discarded. */
export const MAX_ERROR_BODY = 64 * 1024;

type Body = Dispatcher.ResponseData['body'];

/** The start of an error body, at most `limit` bytes; '' when reading fails. */
export async function readErrorBody(body: Body, limit = MAX_ERROR_BODY): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      parts.push(Buffer.from(chunk));
      size += chunk.byteLength;
      if (size >= limit) {
        body.destroy();
        break;
      }
    }
  } catch {
    return '';
  }
  return Buffer.concat(parts).subarray(0, limit).toString('utf8');
}

/** A whole answer's text as a JSON object; a body that is not a JSON object is a SluiceError. */
export function jsonObjectOf(text: string, provider: string): JsonObject {
  const parsed = parseObject(text);
  if (parsed === null) throw badResponse(provider, 'a body that is not a JSON object');
  return parsed;
}

/** The Retry-After header as a string, or null. */
export function retryAfterOf(headers: Dispatcher.ResponseData['headers']): string | null {
  const v = headers['retry-after'];
  return typeof v === 'string' ? v : null;
}

export function isEventStream(headers: Dispatcher.ResponseData['headers']): boolean {
  return String(headers['content-type'] ?? '').startsWith('text/event-stream');
}
