/**
 * Any OpenAI-compatible API (OpenAI, Groq, Together, vLLM, Ollama …). Requests pass through
 * with the target's model over the OpenAI-format transport (transport.ts).
 */
import type { UpstreamPools } from '../../upstream/pools.js';
import type { NativeSchema, ProviderAdapter, ProviderCall, ProviderKeys, ProviderResponse } from '../types.js';
import { RESPONSES_NATIVE } from './responses.js';
import type { ProviderBatchApi } from '../batch.js';
import { OpenAIBatchApi, openAIBatchPath } from './batch.js';
import type { KeyPoolServices } from '../keys/pool.js';
import type { OpenAIProviderRuntime } from './config.js';
import { OpenAITransport } from './transport.js';
import { openAIEndpointPaths } from './types.js';

export class OpenAIAdapter implements ProviderAdapter {
  readonly type = 'openai';
  readonly name: string;
  readonly #transport: OpenAITransport;
  /** `responses: native` (issue 18): /v1/responses is passed through to `{baseUrl}/responses`. */
  readonly natives: ReadonlySet<NativeSchema> | undefined;
  readonly #config: OpenAIProviderRuntime;
  readonly #pools: UpstreamPools;
  #batches: ProviderBatchApi | null = null;

  readonly keys: ProviderKeys;
  /** OpenAI's limit of inputs per embeddings request. */
  readonly maxEmbeddingInputs = 2048;

  constructor(config: OpenAIProviderRuntime, pools: UpstreamPools, services?: KeyPoolServices) {
    this.name = config.name;
    this.#config = config;
    this.#pools = pools;
    this.#transport = new OpenAITransport(config, pools, { auth: bearer, streamUsage: config.streamUsage, services });
    this.keys = this.#transport.keys;
    this.natives = config.responses === 'native' ? RESPONSES_NATIVE : undefined;
  }

  send(call: ProviderCall): Promise<ProviderResponse> {
    if (this.natives !== undefined && call.native?.schema === 'openai-responses') return this.#transport.send(call, '/responses', String(call.body.model));
    return this.#transport.send(call, openAIEndpointPaths[call.endpoint]);
  }

  /** OpenAI's Files + Batch API, for batch pass-through (issue 21); made on first use. */
  get batches(): ProviderBatchApi {
    this.#batches ??= new OpenAIBatchApi(this.#config, this.#pools, { auth: bearer(this.#config.apiKey?.reveal() ?? null), path: openAIBatchPath, model: (m) => m });
    return this.#batches;
  }

  /** GET {baseUrl}/models: any 2xx is healthy (it also proves the API key works). */
  probe(signal: AbortSignal): Promise<void> {
    return this.#transport.probe('/models', signal);
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}

function bearer(key: string | null): Record<string, string> {
  return key === null ? {} : { authorization: `Bearer ${key}` };
}
