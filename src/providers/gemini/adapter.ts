/**
 * Google's Gemini API behind the adapter contract: OpenAI chat and embeddings in, OpenAI
 * shapes out. Chat goes to `models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`),
 * embeddings to `models/{model}:batchEmbedContents`, with the key in `x-goog-api-key`.
 */
import { randomBytes } from 'node:crypto';
import type { UpstreamPools } from '../../upstream/pools.js';
import { badResponse, unsupported } from '../http/errors.js';
import { usageOf } from '../openai/types.js';
import { isEventStream, jsonObjectOf } from '../http/body.js';
import { UpstreamClient } from '../http/client.js';
import { openTranslatedStream } from '../http/stream.js';
import type { ProviderAdapter, ProviderCall, ProviderKeys, ProviderResponse } from '../types.js';
import type { KeyPoolServices } from '../keys/pool.js';
import type { GeminiProviderRuntime } from './config.js';
import { geminiEmbedRequestFromOpenAI, openAIEmbeddingsFromGemini } from './embeddings.js';
import { geminiStatusError } from './errors.js';
import { geminiModelId, geminiRequestFromOpenAI } from './request.js';
import { openAIFromGeminiResponse } from './response.js';
import { GeminiStreamTranslator } from './stream.js';

export class GeminiAdapter implements ProviderAdapter {
  readonly type = 'gemini';
  readonly name: string;
  readonly #client: UpstreamClient;
  readonly #now: () => number;
  readonly keys: ProviderKeys;
  /** `batchEmbedContents` takes at most 100 requests. */
  readonly maxEmbeddingInputs = 100;

  constructor(config: GeminiProviderRuntime, pools: UpstreamPools, now: () => number = Date.now, services?: KeyPoolServices) {
    this.name = config.name;
    this.#client = new UpstreamClient(config, pools, geminiStatusError, googApiKey, services);
    this.keys = this.#client.keys;
    this.#now = now;
  }

  async send(call: ProviderCall): Promise<ProviderResponse> {
    const model = geminiModelId(call.body.model);
    if (call.endpoint === 'embeddings') return this.#embed(call, model);
    if (call.endpoint !== 'chat') throw unsupported(this.name, null, `the ${call.endpoint} endpoint (Gemini serves chat and embeddings)`);
    const body = geminiRequestFromOpenAI(call.body, this.name);
    const path = `/models/${model}:${call.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
    if (call.stream) {
      const res = await this.#client.post(call, path, null, JSON.stringify(body));
      const base = this.#base(model);
      if (!isEventStream(res.headers)) {
        await res.body.dump();
        throw badResponse(this.name, 'a non-streamed answer to a streamed request');
      }
      return openTranslatedStream(this.name, res.statusCode, res.body, new GeminiStreamTranslator({ ...base, includeUsage: call.includeUsage }));
    }
    const res = await this.#client.postText(call, path, null, JSON.stringify(body));
    const completion = openAIFromGeminiResponse(jsonObjectOf(res.text, this.name), this.#base(model));
    return { kind: 'json', status: res.status, body: JSON.stringify(completion), usage: completion.usage === undefined ? null : usageOf(completion.usage) };
  }

  /** What a translated answer takes from the call: `created` is when the answer came. */
  #base(model: string): { provider: string; created: number; model: string; fallbackId: string } {
    return { provider: this.name, created: Math.floor(this.#now() / 1000), model: decodeURIComponent(model), fallbackId: `gemini-${randomBytes(9).toString('hex')}` };
  }

  async #embed(call: ProviderCall, model: string): Promise<ProviderResponse> {
    const body = geminiEmbedRequestFromOpenAI(call.body, model, this.name);
    const res = await this.#client.postText(call, `/models/${model}:batchEmbedContents`, null, JSON.stringify(body));
    const list = openAIEmbeddingsFromGemini(jsonObjectOf(res.text, this.name), call.body, this.name);
    const usage = { promptTokens: list.usage.prompt_tokens, cachedPromptTokens: 0, completionTokens: 0, totalTokens: list.usage.total_tokens };
    return { kind: 'json', status: res.status, body: JSON.stringify(list), usage };
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}

/** Gemini's auth header for one key of the pool. */
function googApiKey(key: string | null): Record<string, string> {
  return key === null ? {} : { 'x-goog-api-key': key };
}
