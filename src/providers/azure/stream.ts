/**
 * OpenAI-shaped SSE from an OpenAI-compatible upstream → the same chunks, passed through
 * without re-serialising. Only the usage chunk is touched: Sluice always asks for it (to count
 * tokens) and drops it again when the client did not ask. Azure's extra chunks (such as the
 * `prompt_filter_results` chunk with empty `choices`) pass through unchanged.
 */
import { SluiceError } from '../../errors.js';
import type { Usage } from '../types.js';
import type { SseEvent } from '../../upstream/sse.js';
import { parseObject } from '../http/json.js';
import type { ChunkTranslator } from '../http/stream.js';
import { upstreamStatusError } from '../upstream-error.js';
import { usageFromOpenAI } from '../usage.js';

export class OpenAIPassthroughTranslator implements ChunkTranslator {
  committed = false;
  readonly #provider: string;
  readonly #includeUsage: boolean;
  #usage: Usage | null = null;
  #done = false;

  constructor(provider: string, includeUsage: boolean) {
    this.#provider = provider;
    this.#includeUsage = includeUsage;
  }

  usage(): Usage | null {
    return this.#usage;
  }

  push(event: SseEvent): string[] {
    if (event.data === '[DONE]') {
      this.#done = true;
      return [];
    }
    if (event.event === 'error' || event.data.startsWith('{"error"')) {
      const err = upstreamStatusError(502, event.data, null);
      throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: err.message, upstream: err.upstream ?? undefined });
    }
    this.committed = true;
    // Only the final usage chunk carries a usage object; the others say "usage":null.
    if (event.data.includes('"usage":{')) {
      const chunk = parseObject(event.data);
      this.#usage = usageFromOpenAI(chunk?.usage) ?? this.#usage;
      if (!this.#includeUsage && Array.isArray(chunk?.choices) && chunk.choices.length === 0) return [];
    }
    return [event.data];
  }

  end(): string[] {
    if (!this.#done) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended without [DONE].` });
    return [];
  }
}
