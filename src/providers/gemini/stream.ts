/**
 * Gemini `streamGenerateContent?alt=sse` events → OpenAI chunk JSON. Pure.
 *
 * Each event's data is a whole GenerateContentResponse holding the next slice of each
 * candidate; function calls arrive whole, not in fragments. There is no end-of-stream marker:
 * a stream is complete when every candidate it mentioned has sent its finishReason.
 */
import { SluiceError } from '../../errors.js';
import type { Usage } from '../types.js';
import type { SseEvent } from '../../upstream/sse.js';
import { ChunkWriter } from '../http/chunk-writer.js';
import { badResponse, contentBlocked } from '../http/errors.js';
import { arr, isRecord, num, parseObject, str } from '../http/json.js';
import { usageOf, type OpenAIUsage } from '../openai/types.js';
import type { ChunkTranslator } from '../http/stream.js';
import { googleError, geminiStreamError } from './errors.js';
import { candidateParts, finishReasonFromGemini, isFilteredFinish, promptBlockReason, usageFromGemini } from './response.js';

export interface GeminiStreamOptions {
  readonly provider: string;
  readonly includeUsage: boolean;
  readonly created: number;
  readonly model: string;
  /** Used for `id` and tool call ids when Gemini sends no `responseId`. */
  readonly fallbackId: string;
}

interface CandidateState {
  /** Tool calls sent so far for this candidate (the OpenAI tool_calls index). */
  calls: number;
  /** Whether text or a tool call went out for it. */
  content: boolean;
  finished: boolean;
}

export class GeminiStreamTranslator implements ChunkTranslator {
  committed = false;
  readonly #provider: string;
  readonly #out: ChunkWriter;
  readonly #candidates = new Map<number, CandidateState>();
  #idSet = false;
  #usage: OpenAIUsage | null = null;

  constructor(opts: GeminiStreamOptions) {
    this.#provider = opts.provider;
    this.#out = new ChunkWriter({ created: opts.created, includeUsage: opts.includeUsage, model: opts.model, id: opts.fallbackId });
  }

  usage(): Usage | null {
    return this.#usage === null ? null : usageOf(this.#usage);
  }

  push(event: SseEvent): string[] {
    const data = parseObject(event.data);
    if (data === null) throw badResponse(this.#provider, 'a stream event that is not a JSON object');
    if (googleError(data) !== null) throw geminiStreamError(this.#provider, data, this.committed);
    const blocked = promptBlockReason(data);
    if (blocked !== null && arr(data.candidates).length === 0) throw contentBlocked(this.#provider, blocked);
    if (!this.#idSet) {
      this.#idSet = true;
      const id = str(data.responseId);
      if (id !== null) this.#out.id = id;
    }
    const model = str(data.modelVersion);
    if (model !== null) this.#out.model = model;
    this.#usage = usageFromGemini(data.usageMetadata) ?? this.#usage;
    const out: string[] = [];
    arr(data.candidates).forEach((c, i) => {
      if (isRecord(c)) this.#candidate(c, num(c.index) ?? i, out);
    });
    return out;
  }

  end(): string[] {
    const states = [...this.#candidates.values()];
    if (states.length === 0 || states.some((s) => !s.finished)) {
      throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended before its finishReason.` });
    }
    return this.#out.includeUsage && this.#usage !== null ? [this.#out.usage(this.#usage)] : [];
  }

  #candidate(c: Record<string, unknown>, index: number, out: string[]): void {
    let state = this.#candidates.get(index);
    if (state === undefined) {
      state = { calls: 0, content: false, finished: false };
      this.#candidates.set(index, state);
      out.push(this.#out.delta({ role: 'assistant', content: '' }, null, index));
    }
    const { text, calls } = candidateParts(c, (n) => `call_${this.#out.id}_${index}_${n}`, state.calls);
    if (text !== null && text !== '') {
      state.content = true;
      this.committed = true;
      out.push(this.#out.delta({ content: text }, null, index));
    }
    if (calls.length > 0) {
      const first = state.calls;
      state.calls += calls.length;
      state.content = true;
      this.committed = true;
      out.push(this.#out.delta({ tool_calls: calls.map((call, n) => ({ index: first + n, ...call })) }, null, index));
    }
    if (c.finishReason === undefined || c.finishReason === null) return;
    // A filter that withheld the whole answer is an error while nothing has been sent yet.
    if (!state.content && isFilteredFinish(c.finishReason) && !this.committed) throw contentBlocked(this.#provider, String(c.finishReason));
    state.finished = true;
    this.committed = true;
    out.push(this.#out.delta({}, finishReasonFromGemini(c.finishReason, state.calls > 0, this.#provider), index));
  }
}
