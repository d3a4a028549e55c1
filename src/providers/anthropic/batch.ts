/**
 * Anthropic's Message Batches API as a provider batch API (issue 21; providers/batch.ts):
 * `POST /v1/messages/batches` with every request inline (`{custom_id, params}`), polled until
 * `processing_status` is `ended`, results read from `results_url` (JSONL, one
 * `{custom_id, result: {type, message | error}}` per request). Lines of a
 * `/v1/chat/completions` batch are translated to Messages requests as a client's request is
 * (request.ts) and their results back to chat completions (response.ts); lines of a
 * `/v1/messages` batch go and come back as they are.
 */
import { isRecord } from '../../lib/json.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import type { ProviderBatchApi, ProviderBatchRef, ProviderBatchRequest, ProviderBatchResult, ProviderBatchState } from '../batch.js';
import { BatchHttp, jsonLines } from '../http/batch-http.js';
import { badResponse } from '../http/errors.js';
import { usageOf } from '../openai/types.js';
import type { JsonObject, Usage } from '../types.js';
import type { AnthropicProviderRuntime } from './config.js';
import { anthropicErrorStatus, anthropicStatusError } from './errors.js';
import { anthropicRequestFromOpenAI } from './request.js';
import { openAIFromAnthropicMessage, usageFromAnthropic } from './response.js';

const ANTHROPIC_BATCH_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/messages']);
/** How many of the provider's newest batches are searched for one an instance created before it died. */
const FIND_LIMIT = 100;
/** How much earlier than the submission a found batch may say it was created (clocks differ). */
const CLOCK_SLACK_MS = 60_000;

export class AnthropicBatchApi implements ProviderBatchApi {
  readonly endpoints = ANTHROPIC_BATCH_ENDPOINTS;
  readonly customIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;
  readonly #config: AnthropicProviderRuntime;
  readonly #http: BatchHttp;
  readonly #now: () => number;

  constructor(config: AnthropicProviderRuntime, pools: UpstreamPools, now: () => number) {
    const key = config.apiKey?.reveal() ?? null;
    this.#config = config;
    this.#http = new BatchHttp(config, pools, { 'anthropic-version': config.version, ...(key === null ? {} : { 'x-api-key': key }) }, anthropicStatusError);
    this.#now = now;
  }

  prepare(endpoint: string, body: JsonObject): JsonObject {
    const params = endpoint === '/v1/messages' ? { ...body } : anthropicRequestFromOpenAI({ ...body, stream: false }, { provider: this.#config.name, defaultMaxTokens: this.#config.defaultMaxTokens });
    delete params.stream;
    delete params.stream_options;
    return params;
  }

  async submit(_endpoint: string, requests: readonly ProviderBatchRequest[], _tag: string, resumeSince: number | null): Promise<ProviderBatchRef> {
    if (resumeSince !== null) {
      const found = await this.#find(requests.length, resumeSince);
      if (found !== null) return found;
    }
    const b = await this.#http.json({
      method: 'POST',
      path: '/messages/batches',
      body: JSON.stringify({ requests: requests.map((r) => ({ custom_id: r.customId, params: r.body })) }),
      contentType: 'application/json',
    });
    if (typeof b.id !== 'string' || b.id === '') throw badResponse(this.#config.name, 'a message batch without an id');
    return { id: b.id, fileId: null };
  }

  async poll(ref: ProviderBatchRef): Promise<ProviderBatchState> {
    const b = await this.#get(ref);
    const status = typeof b.processing_status === 'string' ? b.processing_status : 'unknown';
    return { status, ended: status === 'ended', refused: null, expired: false };
  }

  async cancel(ref: ProviderBatchRef): Promise<void> {
    await this.#http.json({ method: 'POST', path: `/messages/batches/${encodeURIComponent(ref.id)}/cancel` });
  }

  async results(ref: ProviderBatchRef, endpoint: string): Promise<ProviderBatchResult[]> {
    const b = await this.#get(ref);
    if (typeof b.results_url !== 'string' || b.results_url === '') throw badResponse(this.#config.name, 'an ended message batch without a results_url');
    const text = await this.#http.text({ method: 'GET', path: b.results_url });
    const created = Math.floor(this.#now() / 1000);
    const out: ProviderBatchResult[] = [];
    for (const line of jsonLines(text)) {
      if (typeof line.custom_id !== 'string' || !isRecord(line.result)) continue;
      out.push(this.#result(line.custom_id, line.result, endpoint, created));
    }
    return out;
  }

  #result(customId: string, result: JsonObject, endpoint: string, created: number): ProviderBatchResult {
    const none = { customId, status: 0, requestId: '', body: null, cancelled: false, usage: null };
    if (result.type === 'succeeded' && isRecord(result.message)) {
      const message = result.message;
      const requestId = typeof message.id === 'string' ? message.id : '';
      if (endpoint === '/v1/messages') return { ...none, status: 200, requestId, body: message, error: null, usage: usageOfMessage(message) };
      const completion = openAIFromAnthropicMessage(message, { provider: this.#config.name, created });
      return { ...none, status: 200, requestId, body: completion, error: null, usage: completion.usage === undefined ? null : usageOf(completion.usage) };
    }
    if (result.type === 'errored') {
      // `error` is Anthropic's error answer: {type: 'error', error: {type, message}}.
      const answer = isRecord(result.error) ? result.error : {};
      const inner = isRecord(answer.error) ? answer.error : answer;
      const type = typeof inner.type === 'string' ? inner.type : 'api_error';
      const message = typeof inner.message === 'string' ? inner.message : 'The request failed.';
      const status = anthropicErrorStatus[type] ?? 500;
      const body = endpoint === '/v1/messages' ? { type: 'error', error: { type, message } } : { error: { message: `Upstream ${status}: ${message}`, type, code: null, param: null } };
      return { ...none, status, body, error: null };
    }
    if (result.type === 'canceled') return { ...none, cancelled: true, error: { code: 'batch_cancelled', message: 'The batch was cancelled before this request ran.' } };
    return { ...none, error: { code: 'batch_expired', message: 'The batch expired before this request ran.' } };
  }

  async #get(ref: ProviderBatchRef): Promise<JsonObject> {
    return this.#http.json({ method: 'GET', path: `/messages/batches/${encodeURIComponent(ref.id)}` });
  }

  /**
   * A message batch created since `since` with `count` requests: one an instance created
   * before it died. Message batches carry no metadata, so this is the best available match;
   * docs/batches.md says so.
   */
  async #find(count: number, since: number): Promise<ProviderBatchRef | null> {
    const list = await this.#http.json({ method: 'GET', path: `/messages/batches?limit=${FIND_LIMIT}` });
    const data = Array.isArray(list.data) ? list.data : [];
    for (const b of data) {
      if (!isRecord(b) || typeof b.id !== 'string' || typeof b.created_at !== 'string') continue;
      const counts = isRecord(b.request_counts) ? Object.values(b.request_counts).reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0) : -1;
      if (Date.parse(b.created_at) >= since - CLOCK_SLACK_MS && counts === count) return { id: b.id, fileId: null };
    }
    return null;
  }
}

function usageOfMessage(message: JsonObject): Usage | null {
  const u = usageFromAnthropic(message.usage);
  return u === null ? null : usageOf(u);
}
