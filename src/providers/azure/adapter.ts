/**
 * Azure OpenAI behind the adapter contract. The wire format is OpenAI's, so bodies pass
 * through; what differs is the URL (a deployment per model, an `api-version` query) and the
 * `api-key` header. The deployment is chosen from the target model, so the body's `model`
 * is sent too (Azure ignores it) and answers report the model Azure reports.
 */
import type { UpstreamPools } from '../../upstream/pools.js';
import { badResponse } from '../http/errors.js';
import { isEventStream, readJson } from '../http/body.js';
import { UpstreamClient } from '../http/client.js';
import { openTranslatedStream } from '../http/stream.js';
import type { JsonObject, ProviderAdapter, ProviderCall, ProviderResponse } from '../types.js';
import { upstreamStatusError } from '../upstream-error.js';
import { usageFromOpenAI } from '../usage.js';
import type { AzureOpenAIProviderRuntime } from './config.js';
import { OpenAIPassthroughTranslator } from './stream.js';
import { azureHeaders, azurePath } from './url.js';

export class AzureOpenAIAdapter implements ProviderAdapter {
  readonly type = 'azure-openai';
  readonly name: string;
  readonly #config: AzureOpenAIProviderRuntime;
  readonly #client: UpstreamClient;
  readonly #headers: Record<string, string>;

  constructor(config: AzureOpenAIProviderRuntime, pools: UpstreamPools) {
    this.name = config.name;
    this.#config = config;
    this.#client = new UpstreamClient(config, pools, upstreamStatusError);
    this.#headers = azureHeaders(config.apiKey === null ? null : config.apiKey.reveal());
  }

  async send(call: ProviderCall): Promise<ProviderResponse> {
    let body: JsonObject = call.body;
    if (call.stream && !call.includeUsage) {
      // Ask for usage on every stream so it can be accounted; the translator strips it again.
      const options = typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
      body = { ...body, stream_options: { ...options, include_usage: true } };
    }
    const path = azurePath(this.#config, call.endpoint, String(call.body.model));
    const res = await this.#client.post(call, path, this.#headers, JSON.stringify(body));
    if (call.stream) {
      if (!isEventStream(res.headers)) {
        await res.body.dump();
        throw badResponse(this.name, 'a non-streamed answer to a streamed request');
      }
      return openTranslatedStream(this.name, res.statusCode, res.body, new OpenAIPassthroughTranslator(this.name, call.includeUsage));
    }
    const { text, parsed } = await readJson(res.body, this.name);
    return { kind: 'json', status: res.statusCode, body: text, usage: usageFromOpenAI(parsed.usage) };
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}

export function createAzureOpenAIAdapter(config: AzureOpenAIProviderRuntime, pools: UpstreamPools): AzureOpenAIAdapter {
  return new AzureOpenAIAdapter(config, pools);
}
