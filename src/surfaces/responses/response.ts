/** OpenAI chat.completion → Responses API `response` object, for answers on `POST /v1/responses`. Pure. */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../providers/types.js';
import { badResponse } from '../../providers/http/errors.js';
import { arr, isRecord, num, str } from '../../providers/http/json.js';
import type { ResponsesRequest } from './schema.js';

/**
 * An id with OpenAI's prefix (`resp`, `msg`, `fc`) and 48 hex characters, as OpenAI's look:
 * two random UUIDs' hex (244 random bits). randomUUID draws from a buffered pool; randomBytes
 * per item was 2% of a streamed response's CPU.
 */
export function itemId(prefix: string): string {
  return `${prefix}_${(randomUUID() + randomUUID()).replace(/-/g, '').slice(0, 48)}`;
}

/** What a response says before its output is known: the settings it echoes (the spec's required fields). */
export interface ResponseHead {
  readonly id: string;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly request: ResponsesRequest;
  /** Whether the response is kept (false without a database). */
  readonly store: boolean;
}

/** The response object with `status` and an empty output, as response.created shows it. */
export function responseShell(head: ResponseHead, status: string): JsonObject {
  const r = head.request;
  const format = r.text?.format;
  return {
    id: head.id,
    object: 'response',
    created_at: head.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    model: r.model,
    output: [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: r.reasoning?.effort ?? null, summary: r.reasoning?.summary ?? null },
    store: head.store,
    temperature: r.temperature ?? 1,
    text: { format: format ?? { type: 'text' } },
    tool_choice: r.tool_choice ?? 'auto',
    tools: r.tools ?? [],
    top_p: r.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: r.user ?? null,
    metadata: r.metadata ?? {},
  };
}

/** Chat usage → Responses usage; cached and reasoning tokens are parts of input and output. */
export function responsesUsage(usage: unknown): JsonObject {
  const u = isRecord(usage) ? usage : {};
  const input = num(u.prompt_tokens) ?? 0;
  const output = num(u.completion_tokens) ?? 0;
  const cached = isRecord(u.prompt_tokens_details) ? (num(u.prompt_tokens_details.cached_tokens) ?? 0) : 0;
  const reasoning = isRecord(u.completion_tokens_details) ? (num(u.completion_tokens_details.reasoning_tokens) ?? 0) : 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: num(u.total_tokens) ?? input + output,
  };
}

/** finish_reason → the response's end: `length` and `content_filter` leave it incomplete. */
export function responseEnd(finishReason: unknown): { status: 'completed' | 'incomplete'; incomplete: JsonObject | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

/**
 * Reasoning text an OpenAI-compatible upstream gives beside the answer (`reasoning_content`:
 * DeepSeek, vLLM, Groq …; `reasoning`: OpenRouter, newer vLLM); null when there is none.
 */
export function reasoningOf(message: JsonObject): string | null {
  const text = str(message.reasoning_content) ?? str(message.reasoning);
  return text === null || text === '' ? null : text;
}

export function reasoningItem(id: string, text: string, status: string): JsonObject {
  return { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }], status };
}

export function outputText(text: string): JsonObject {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/**
 * Choice 0 becomes the output: its text (or refusal) as one `message` item, each tool call as a
 * `function_call` item. `output_text` is not on the wire: the SDKs derive it from the output.
 */
export function chatCompletionToResponse(completion: unknown, head: ResponseHead, provider = 'upstream'): JsonObject {
  const choice = isRecord(completion) ? arr(completion.choices).find(isRecord) : undefined;
  if (!isRecord(completion) || choice === undefined || !isRecord(choice.message)) throw badResponse(provider, 'an answer without choices');
  const message = choice.message;
  const output: JsonObject[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning !== null) output.push(reasoningItem(itemId('rs'), reasoning, 'completed'));
  const refusal = str(message.refusal);
  const content = message.content;
  const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((p) => (isRecord(p) ? (str(p.text) ?? '') : '')).join('') : '';
  if (refusal !== null) {
    output.push({ id: itemId('msg'), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal }] });
  } else if (text !== '') {
    output.push({ id: itemId('msg'), type: 'message', status: 'completed', role: 'assistant', content: [outputText(text)] });
  }
  for (const call of arr(message.tool_calls)) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    output.push({ id: itemId('fc'), type: 'function_call', status: 'completed', call_id: str(call.id) ?? itemId('call'), name: str(call.function.name) ?? '', arguments: str(call.function.arguments) ?? '' });
  }
  const end = responseEnd(choice.finish_reason);
  const response = responseShell(head, end.status);
  response.incomplete_details = end.incomplete;
  response.output = output;
  response.usage = responsesUsage(completion.usage);
  return response;
}
