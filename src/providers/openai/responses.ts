/**
 * Responses API pass-through (issue 18): a client's `POST /v1/responses` goes to an upstream
 * that speaks the Responses API (OpenAI, Azure OpenAI) as the surface prepared it
 * (`ProviderCall.native`: the client's body with earlier turns expanded and `store: false`, see
 * surfaces/responses/native.ts), with only the target's model set here, and the answer comes
 * back as the upstream wrote it: the JSON text unchanged, each SSE event re-framed as it came.
 * Usage is read on the way (the JSON's `usage`, the terminal event's `response.usage`). Pure:
 * the transport does the I/O.
 */
import { SluiceError } from '../../errors.js';
import type { SseEvent } from '../../upstream/sse.js';
import { badResponse } from '../http/errors.js';
import { isRecord, parseObject, str } from '../http/json.js';
import type { ChunkTranslator } from '../http/stream.js';
import type { NativeRequest, NativeSchema, Usage } from '../types.js';
import { upstreamStatusError } from '../upstream-error.js';

/** The schema an adapter with `responses: native` passes through. */
export const RESPONSES_NATIVE: ReadonlySet<NativeSchema> = new Set(['openai-responses']);

/** The body sent upstream: the prepared text when the model is the target's already, else the object with the target's model. */
export function responsesUpstreamBody(native: NativeRequest, model: unknown): string {
  if (native.text !== null && native.body.model === model) return native.text;
  return JSON.stringify({ ...native.body, model });
}

/** A non-negative count in a `*_details` object; 0 when absent. */
function detail(details: unknown, key: string): number {
  if (!isRecord(details)) return 0;
  const n = details[key];
  return typeof n === 'number' && n > 0 ? n : 0;
}

/**
 * A Responses API `usage` object (input_tokens with input_tokens_details.cached_tokens and
 * cache_write_tokens, output_tokens with output_tokens_details.reasoning_tokens) as the
 * gateway's Usage; null when absent or malformed.
 */
export function usageFromResponses(value: unknown): Usage | null {
  if (!isRecord(value) || typeof value.input_tokens !== 'number') return null;
  const input = value.input_tokens;
  const output = typeof value.output_tokens === 'number' ? value.output_tokens : 0;
  const usage: Usage = {
    promptTokens: input,
    cachedPromptTokens: detail(value.input_tokens_details, 'cached_tokens'),
    completionTokens: output,
    totalTokens: typeof value.total_tokens === 'number' ? value.total_tokens : input + output,
  };
  // Newer answers also count prompt-cache writes (input_tokens_details.cache_write_tokens).
  const writes = detail(value.input_tokens_details, 'cache_write_tokens');
  if (writes > 0) usage.cacheWriteTokens = writes;
  const reasoning = detail(value.output_tokens_details, 'reasoning_tokens');
  if (reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

/** The usage of a whole response (JSON text); the text itself goes to the client unchanged. */
export function responsesJsonUsage(text: string, provider: string): Usage | null {
  const response = parseObject(text);
  if (response === null) throw badResponse(provider, 'a body that is not a JSON object');
  return usageFromResponses(response.usage);
}

/** The SSE text of one event, as it came (comments and ids aside). */
function frame(event: SseEvent): string {
  const head = event.event === null ? '' : `event: ${event.event}\n`;
  const data = event.data.includes('\n') ? event.data.split('\n').join('\ndata: ') : event.data;
  return `${head}data: ${data}\n\n`;
}

/** Events that carry output and decide nothing: passed on by name without parsing their JSON. */
const OUTPUT_DELTAS: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.refusal.delta',
  'response.custom_tool_call_input.delta',
]);

/** Events before any output: an error after them can still be retried or fall back. */
const PREAMBLE: ReadonlySet<string> = new Set(['response.created', 'response.in_progress', 'response.queued']);

/**
 * A Responses API stream passed through event by event. The commit point is the first event
 * with output (anything after response.created / in_progress / queued): an `error` event or
 * `response.failed` before it fails the attempt (retry, fallback to another target, which may
 * be a translated one); after it, the event reaches the client as the upstream wrote it and the
 * stream ends as interrupted (for the request's record). The stream is complete at
 * `response.completed` or `response.incomplete`, whose `response.usage` is the usage.
 */
export class ResponsesPassThroughStream implements ChunkTranslator {
  committed = false;
  readonly #provider: string;
  #usage: Usage | null = null;
  #done = false;
  #failure: SluiceError | null = null;

  constructor(provider: string) {
    this.#provider = provider;
  }

  push(event: SseEvent): string[] {
    if (event.event !== null && OUTPUT_DELTAS.has(event.event)) {
      this.committed = true;
      return [frame(event)];
    }
    // Some OpenAI-compatible servers end with chat's [DONE]; the Responses API has none.
    if (event.data === '[DONE]') return [];
    const data = parseObject(event.data);
    if (data === null) throw badResponse(this.#provider, `a stream event that is not a JSON object (${event.event ?? 'unnamed'})`);
    const type = str(data.type) ?? event.event ?? '';
    if (type === 'response.completed' || type === 'response.incomplete') {
      this.#usage = isRecord(data.response) ? usageFromResponses(data.response.usage) : null;
      this.committed = true;
      this.#done = true;
    } else if (type === 'response.failed' || type === 'error') {
      const failure = this.#error(type === 'error' ? data : isRecord(data.response) ? data.response.error : null);
      if (type === 'response.failed' && isRecord(data.response)) this.#usage = usageFromResponses(data.response.usage);
      if (!this.committed) throw failure;
      this.#failure = failure;
    } else if (!PREAMBLE.has(type)) {
      this.committed = true;
    }
    return [frame(event)];
  }

  end(): string[] {
    if (this.#failure !== null) throw this.#failure;
    if (!this.#done) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended without response.completed.` });
    return [];
  }

  usage(): Usage | null {
    return this.#usage;
  }

  /** An error event's (or a failed response's `error`) as the catalog's: an upstream status before the commit point, an interrupted stream after it. */
  #error(error: unknown): SluiceError {
    const err = upstreamStatusError(502, JSON.stringify({ error: isRecord(error) ? error : {} }), null);
    if (!this.committed) return err;
    return new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" failed: ${err.message}`, upstream: err.upstream ?? undefined });
  }
}
