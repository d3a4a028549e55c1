/**
 * Anthropic's Messages API behind the adapter contract: OpenAI chat in, OpenAI chat out. The
 * translation lives in request.ts, response.ts and stream.ts; this class only moves bytes.
 */
import type { UpstreamPools } from '../../upstream/pools.js';
import { badResponse, unsupported } from '../http/errors.js';
import { usageOf } from '../openai/types.js';
import { isEventStream, jsonObjectOf } from '../http/body.js';
import { UpstreamClient } from '../http/client.js';
import { openTranslatedStream } from '../http/stream.js';
import type { JsonResponse, ProviderAdapter, ProviderCall, ProviderResponse } from '../types.js';
import type { AnthropicProviderRuntime } from './config.js';
import { anthropicStatusError } from './errors.js';
import { anthropicRequestFromOpenAI } from './request.js';
import { openAIFromAnthropicMessage } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';
import { AnthropicPassThroughStream, passThroughBody, passThroughHeaders, passThroughUsage } from './passthrough.js';
import type { NativeRequest, NativeSchema, ProviderKeys } from '../types.js';
import type { KeyPoolServices } from '../keys/pool.js';
import type { ProviderBatchApi } from '../batch.js';
import { AnthropicBatchApi } from './batch.js';

const ANTHROPIC_NATIVE: ReadonlySet<NativeSchema> = new Set(['anthropic-messages']);

export class AnthropicAdapter implements ProviderAdapter {
  readonly type = 'anthropic';
  readonly natives: ReadonlySet<NativeSchema> = ANTHROPIC_NATIVE;
  readonly name: string;
  readonly #config: AnthropicProviderRuntime;
  readonly #client: UpstreamClient;
  readonly #now: () => number;
  readonly #pools: UpstreamPools;
  #batches: ProviderBatchApi | null = null;
  readonly keys: ProviderKeys;

  /** `now` (epoch ms) stamps `created`, which Anthropic does not send. */
  constructor(config: AnthropicProviderRuntime, pools: UpstreamPools, now: () => number = Date.now, services?: KeyPoolServices) {
    this.name = config.name;
    this.#config = config;
    this.#pools = pools;
    this.#client = new UpstreamClient(config, pools, anthropicStatusError, apiKeyHeader, services, { 'anthropic-version': config.version });
    this.keys = this.#client.keys;
    this.#now = now;
  }

  async send(call: ProviderCall): Promise<ProviderResponse> {
    if (call.endpoint !== 'chat') throw unsupported(this.name, null, `the ${call.endpoint} endpoint (Anthropic serves chat only)`);
    const native = call.native;
    if (native !== undefined && native !== null && native.schema === 'anthropic-messages') return this.#passThrough(call, native);
    const body = anthropicRequestFromOpenAI({ ...call.body, stream: call.stream }, { provider: this.name, defaultMaxTokens: this.#config.defaultMaxTokens });
    if (call.stream) {
      const res = await this.#client.post(call, '/messages', null, JSON.stringify(body));
      const created = Math.floor(this.#now() / 1000);
      if (!isEventStream(res.headers)) {
        await res.body.dump();
        throw badResponse(this.name, 'a non-streamed answer to a streamed request');
      }
      const translator = new AnthropicStreamTranslator({ provider: this.name, includeUsage: call.includeUsage, created, model: String(call.body.model) });
      return openTranslatedStream(this.name, res.statusCode, res.body, translator);
    }
    const res = await this.#client.postText(call, '/messages', null, JSON.stringify(body));
    const created = Math.floor(this.#now() / 1000);
    const completion = openAIFromAnthropicMessage(jsonObjectOf(res.text, this.name), { provider: this.name, created });
    return { kind: 'json', status: res.status, body: JSON.stringify(completion), usage: completion.usage === undefined ? null : usageOf(completion.usage) };
  }

  /** Anthropic's Message Batches API, for batch pass-through (issue 21); made on first use. */
  get batches(): ProviderBatchApi {
    this.#batches ??= new AnthropicBatchApi(this.#config, this.#pools, this.#now);
    return this.#batches;
  }

  /** POST /messages/count_tokens with the client's body (its model replaced), answered as Anthropic answers. */
  async countTokens(call: ProviderCall): Promise<JsonResponse> {
    const native = call.native;
    if (native === undefined || native === null || native.schema !== 'anthropic-messages') throw unsupported(this.name, null, 'counting tokens of a request that is not an Anthropic Messages request');
    const headers = passThroughHeaders(native.headers, this.#config.headers, this.#config.version);
    const res = await this.#client.postText(call, '/messages/count_tokens', headers, passThroughBody(native, call.body.model));
    return { kind: 'json', status: res.status, body: res.text, usage: null, native: 'anthropic-messages' };
  }

  /** An Anthropic client's request, sent and answered as is (passthrough.ts, issue 18). */
  async #passThrough(call: ProviderCall, native: NativeRequest): Promise<ProviderResponse> {
    const headers = passThroughHeaders(native.headers, this.#config.headers, this.#config.version);
    const text = passThroughBody(native, call.body.model);
    if (call.stream) {
      const res = await this.#client.post(call, '/messages', headers, text);
      if (!isEventStream(res.headers)) {
        await res.body.dump();
        throw badResponse(this.name, 'a non-streamed answer to a streamed request');
      }
      const stream = await openTranslatedStream(this.name, res.statusCode, res.body, new AnthropicPassThroughStream(this.name));
      return { ...stream, native: 'anthropic-messages' };
    }
    const res = await this.#client.postText(call, '/messages', headers, text);
    return { kind: 'json', status: res.status, body: res.text, usage: passThroughUsage(res.text, this.name), native: 'anthropic-messages' };
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}

/** Anthropic's auth header for one key of the pool (the client adds it per call). */
function apiKeyHeader(key: string | null): Record<string, string> {
  return key === null ? {} : { 'x-api-key': key };
}
