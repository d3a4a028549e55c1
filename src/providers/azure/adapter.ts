/**
 * Azure OpenAI behind the adapter contract. The wire format is OpenAI's, so it shares the
 * OpenAI transport (providers/openai/transport.ts); what differs is the URL (a deployment per
 * model, an `api-version` query) and the `api-key` header. The deployment is chosen from the
 * target model, so the body's `model` is sent too (Azure ignores it) and answers report the
 * model Azure reports.
 */
import type { UpstreamPools } from '../../upstream/pools.js';
import { OpenAITransport } from '../openai/transport.js';
import type { NativeSchema, ProviderAdapter, ProviderCall, ProviderKeys, ProviderResponse } from '../types.js';
import { RESPONSES_NATIVE } from '../openai/responses.js';
import type { KeyPoolServices } from '../keys/pool.js';
import type { AzureOpenAIProviderRuntime } from './config.js';
import { azureDeployment, azureHeaders, azurePath } from './url.js';
import type { ProviderBatchApi } from '../batch.js';
import { OpenAIBatchApi, openAIBatchPath } from '../openai/batch.js';

/** Azure's Responses API (the v1 API: no api-version; the body's model names the deployment). */
const AZURE_RESPONSES_PATH = '/openai/v1/responses';

export class AzureOpenAIAdapter implements ProviderAdapter {
  readonly type = 'azure-openai';
  readonly name: string;
  readonly #config: AzureOpenAIProviderRuntime;
  readonly #transport: OpenAITransport;
  /** `responses: native` (issue 18): /v1/responses is passed through to `/openai/v1/responses`. */
  readonly natives: ReadonlySet<NativeSchema> | undefined;
  readonly #pools: UpstreamPools;
  #batches: ProviderBatchApi | null = null;

  readonly keys: ProviderKeys;
  /** OpenAI's limit of inputs per embeddings request. */
  readonly maxEmbeddingInputs = 2048;

  constructor(config: AzureOpenAIProviderRuntime, pools: UpstreamPools, services?: KeyPoolServices) {
    this.name = config.name;
    this.#config = config;
    this.#pools = pools;
    this.#transport = new OpenAITransport(config, pools, { auth: azureHeaders, streamUsage: true, services });
    this.keys = this.#transport.keys;
    this.natives = config.responses === 'native' ? RESPONSES_NATIVE : undefined;
  }

  send(call: ProviderCall): Promise<ProviderResponse> {
    if (this.natives !== undefined && call.native?.schema === 'openai-responses') return this.#transport.send(call, AZURE_RESPONSES_PATH, azureDeployment(this.#config, String(call.body.model)));
    return this.#transport.send(call, azurePath(this.#config, call.endpoint, String(call.body.model)));
  }

  /**
   * Azure's copy of OpenAI's Files + Batch API (`/openai/files`, `/openai/batches`, the
   * `api-version` query), for batch pass-through (issue 21); a line's model is its deployment
   * (a Global Batch one). Made on first use.
   */
  get batches(): ProviderBatchApi {
    const config = this.#config;
    this.#batches ??= new OpenAIBatchApi(config, this.#pools, {
      auth: azureHeaders(config.apiKey?.reveal() ?? null),
      path: (path, query) => openAIBatchPath(`/openai${path}`, { ...query, 'api-version': config.apiVersion }),
      model: (m) => azureDeployment(config, m),
    });
    return this.#batches;
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}
