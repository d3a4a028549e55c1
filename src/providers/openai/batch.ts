/**
 * OpenAI's Files + Batch API as a provider batch API (issue 21; providers/batch.ts), for the
 * `openai` and `azure-openai` types: the requests are uploaded as a JSONL file (purpose
 * `batch`), the batch is created on it with Sluice's batch id in its metadata, polled, and its
 * output and error files are read back. The lines are OpenAI's own batch lines, so results
 * pass through as the provider wrote them (only usage is read from them).
 */
import { SluiceError } from '../../errors.js';
import { isRecord } from '../../lib/json.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import type { ProviderBatchApi, ProviderBatchRef, ProviderBatchRequest, ProviderBatchResult, ProviderBatchState } from '../batch.js';
import { BatchHttp, jsonLines, multipart } from '../http/batch-http.js';
import type { HttpProviderRuntime } from '../http/config.js';
import type { JsonObject, Usage } from '../types.js';
import { upstreamStatusError } from '../upstream-error.js';
import { usageFromOpenAI } from '../usage.js';

/** The endpoints OpenAI's Batch API takes. */
const OPENAI_BATCH_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/responses']);
const ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);
/** How many of the provider's newest batches are searched for one an instance created before it died. */
const FIND_LIMIT = 100;

export interface OpenAIBatchOptions {
  /** The auth header(s) of the provider's first key. */
  readonly auth: Readonly<Record<string, string>>;
  /** A path of OpenAI's API (`/files`, `/batches/{id}`) as this provider serves it (Azure adds `/openai` and `api-version`). */
  readonly path: (path: string, query?: Readonly<Record<string, string>>) => string;
  /** The model a line names upstream (Azure: the deployment). */
  readonly model: (model: string) => string;
}

/** OpenAI's paths, below the base path (`/v1`). */
export function openAIBatchPath(path: string, query: Readonly<Record<string, string>> = {}): string {
  const q = new URLSearchParams(query).toString();
  return q === '' ? path : `${path}?${q}`;
}

export class OpenAIBatchApi implements ProviderBatchApi {
  readonly endpoints = OPENAI_BATCH_ENDPOINTS;
  readonly customIdPattern = null;
  readonly #http: BatchHttp;
  readonly #options: OpenAIBatchOptions;

  constructor(config: HttpProviderRuntime, pools: UpstreamPools, options: OpenAIBatchOptions) {
    this.#http = new BatchHttp(config, pools, options.auth, upstreamStatusError);
    this.#options = options;
  }

  prepare(_endpoint: string, body: JsonObject): JsonObject {
    const out: JsonObject = { ...body, model: this.#options.model(String(body.model)) };
    delete out.stream;
    delete out.stream_options;
    return out;
  }

  async submit(endpoint: string, requests: readonly ProviderBatchRequest[], tag: string, resumeSince: number | null): Promise<ProviderBatchRef> {
    if (resumeSince !== null) {
      const found = await this.#find(tag);
      if (found !== null) return found;
    }
    const jsonl = requests.map((r) => JSON.stringify({ custom_id: r.customId, method: 'POST', url: endpoint, body: r.body })).join('\n');
    const form = multipart({ purpose: 'batch' }, { name: 'file', filename: `${tag}.jsonl`, type: 'application/jsonl', content: Buffer.from(`${jsonl}\n`) });
    const file = await this.#http.json({ method: 'POST', path: this.#options.path('/files'), body: form.body, contentType: form.contentType });
    const fileId = stringOf(file.id, 'file id');
    const batch = await this.#http.json({
      method: 'POST',
      path: this.#options.path('/batches'),
      body: JSON.stringify({ input_file_id: fileId, endpoint, completion_window: '24h', metadata: { sluice_batch_id: tag } }),
      contentType: 'application/json',
    });
    return { id: stringOf(batch.id, 'batch id'), fileId };
  }

  async poll(ref: ProviderBatchRef): Promise<ProviderBatchState> {
    const b = await this.#http.json({ method: 'GET', path: this.#options.path(`/batches/${encodeURIComponent(ref.id)}`) });
    const status = typeof b.status === 'string' ? b.status : 'unknown';
    let refused: string | null = null;
    if (status === 'failed') {
      const errors = isRecord(b.errors) && Array.isArray(b.errors.data) ? b.errors.data : [];
      refused = errors.map((e) => (isRecord(e) && typeof e.message === 'string' ? e.message : '')).filter((m) => m !== '').join('; ') || 'The provider failed the batch.';
    }
    return { status, ended: ENDED.has(status), refused, expired: status === 'expired' };
  }

  async cancel(ref: ProviderBatchRef): Promise<void> {
    await this.#http.json({ method: 'POST', path: this.#options.path(`/batches/${encodeURIComponent(ref.id)}/cancel`) });
  }

  async results(ref: ProviderBatchRef, _endpoint: string): Promise<ProviderBatchResult[]> {
    const b = await this.#http.json({ method: 'GET', path: this.#options.path(`/batches/${encodeURIComponent(ref.id)}`) });
    const out: ProviderBatchResult[] = [];
    for (const fileId of [b.output_file_id, b.error_file_id]) {
      if (typeof fileId !== 'string' || fileId === '') continue;
      const text = await this.#http.text({ method: 'GET', path: this.#options.path(`/files/${encodeURIComponent(fileId)}/content`) });
      for (const line of jsonLines(text)) {
        const result = resultOf(line);
        if (result !== null) out.push(result);
      }
    }
    return out;
  }

  /** A batch of this provider whose metadata names `tag` (created by an instance that died before it stored its id). */
  async #find(tag: string): Promise<ProviderBatchRef | null> {
    const list = await this.#http.json({ method: 'GET', path: this.#options.path('/batches', { limit: String(FIND_LIMIT) }) });
    const data = Array.isArray(list.data) ? list.data : [];
    for (const b of data) {
      if (isRecord(b) && isRecord(b.metadata) && b.metadata.sluice_batch_id === tag && typeof b.id === 'string') {
        return { id: b.id, fileId: typeof b.input_file_id === 'string' ? b.input_file_id : null };
      }
    }
    return null;
  }
}

function stringOf(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: `The provider's batch API answered without a ${what}.` });
  return v;
}

/** One line of OpenAI's output or error file. */
function resultOf(line: JsonObject): ProviderBatchResult | null {
  if (typeof line.custom_id !== 'string') return null;
  const response = isRecord(line.response) ? line.response : null;
  const error = isRecord(line.error) ? { code: String(line.error.code ?? 'batch_error'), message: String(line.error.message ?? '') } : null;
  const body = response?.body ?? null;
  return {
    customId: line.custom_id,
    status: typeof response?.status_code === 'number' ? response.status_code : 0,
    requestId: typeof response?.request_id === 'string' ? response.request_id : '',
    body,
    error,
    cancelled: error?.code === 'batch_cancelled',
    usage: isRecord(body) ? usageOfAnswer(body.usage) : null,
  };
}

/** Usage of a chat, completions or embeddings answer, or of a Responses API answer (`input_tokens`). */
export function usageOfAnswer(u: unknown): Usage | null {
  const chat = usageFromOpenAI(u);
  if (chat !== null || !isRecord(u) || typeof u.input_tokens !== 'number') return chat;
  const output = typeof u.output_tokens === 'number' ? u.output_tokens : 0;
  const cached = isRecord(u.input_tokens_details) && typeof u.input_tokens_details.cached_tokens === 'number' ? u.input_tokens_details.cached_tokens : 0;
  return { promptTokens: u.input_tokens, cachedPromptTokens: cached, completionTokens: output, totalTokens: u.input_tokens + output };
}
