/**
 * Anthropic's Messages API behind the adapter contract: OpenAI chat in, OpenAI chat out. The
 * translation lives in request.ts, response.ts and stream.ts; this class only moves bytes.
 */
import type { UpstreamPools } from '../../upstream/pools.js';
import { badResponse, unsupported } from '../http/errors.js';
import { usageOf } from '../openai/types.js';
import { isEventStream, readJsonObject } from '../http/body.js';
import { UpstreamClient } from '../http/client.js';
import { openTranslatedStream } from '../http/stream.js';
import type { ProviderAdapter, ProviderCall, ProviderResponse } from '../types.js';
import type { AnthropicProviderRuntime } from './config.js';
import { anthropicStatusError } from './errors.js';
import { anthropicRequestFromOpenAI } from './request.js';
import { openAIFromAnthropicMessage } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';

export class AnthropicAdapter implements ProviderAdapter {
  readonly type = 'anthropic';
  readonly name: string;
  readonly #config: AnthropicProviderRuntime;
  readonly #client: UpstreamClient;
  readonly #headers: Record<string, string>;
  readonly #now: () => number;

  /** `now` (epoch ms) stamps `created`, which Anthropic does not send. */
  constructor(config: AnthropicProviderRuntime, pools: UpstreamPools, now: () => number = Date.now) {
    this.name = config.name;
    this.#config = config;
    this.#client = new UpstreamClient(config, pools, anthropicStatusError);
    this.#headers = { 'anthropic-version': config.version };
    if (config.apiKey !== null) this.#headers['x-api-key'] = config.apiKey.reveal();
    this.#now = now;
  }

  async send(call: ProviderCall): Promise<ProviderResponse> {
    if (call.endpoint !== 'chat') throw unsupported(this.name, null, `the ${call.endpoint} endpoint (Anthropic serves chat only)`);
    const body = anthropicRequestFromOpenAI({ ...call.body, stream: call.stream }, { provider: this.name, defaultMaxTokens: this.#config.defaultMaxTokens });
    const res = await this.#client.post(call, '/messages', this.#headers, JSON.stringify(body));
    const created = Math.floor(this.#now() / 1000);
    if (call.stream) {
      if (!isEventStream(res.headers)) {
        await res.body.dump();
        throw badResponse(this.name, 'a non-streamed answer to a streamed request');
      }
      const translator = new AnthropicStreamTranslator({ provider: this.name, includeUsage: call.includeUsage, created, model: String(call.body.model) });
      return openTranslatedStream(this.name, res.statusCode, res.body, translator);
    }
    const message = await readJsonObject(res.body, this.name);
    const completion = openAIFromAnthropicMessage(message, { provider: this.name, created });
    return { kind: 'json', status: res.statusCode, body: JSON.stringify(completion), usage: completion.usage === undefined ? null : usageOf(completion.usage) };
  }

  async close(): Promise<void> {
    // The pool belongs to UpstreamPools, which closes it.
  }
}
