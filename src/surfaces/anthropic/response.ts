/** OpenAI chat.completion → Anthropic Message, for answers on `POST /v1/messages`. Pure. */
import type { JsonObject } from '../../providers/types.js';
import { badResponse } from '../../providers/http/errors.js';
import { arr, isRecord, num, parseObject, str, textOfContent } from '../../providers/http/json.js';

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/**
 * OpenAI `finish_reason` → Anthropic `stop_reason`. OpenAI does not say whether a stop
 * sequence ended the answer, so `stop` is always `end_turn` and `stop_sequence` is null.
 */
export function stopReasonFromOpenAI(reason: unknown): AnthropicStopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** OpenAI's prompt_tokens include cached tokens; Anthropic's input_tokens do not. */
export function anthropicUsageFromOpenAI(usage: unknown): JsonObject {
  const u = isRecord(usage) ? usage : {};
  const prompt = num(u.prompt_tokens) ?? 0;
  const details = isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cached = num(details.cached_tokens) ?? 0;
  // Cache writes (usageFromAnthropic's cache_write_tokens, or OpenRouter's) are Anthropic's
  // cache_creation_input_tokens, not plain input: an Anthropic client prices them apart.
  const writes = num(details.cache_write_tokens) ?? 0;
  const writes1h = Math.min(num(details.cache_write_1h_tokens) ?? 0, writes);
  const out: JsonObject = { input_tokens: Math.max(0, prompt - cached - writes), output_tokens: num(u.completion_tokens) ?? 0, cache_creation_input_tokens: writes, cache_read_input_tokens: cached };
  if (writes > 0) out.cache_creation = { ephemeral_5m_input_tokens: writes - writes1h, ephemeral_1h_input_tokens: writes1h };
  return out;
}

/** Anthropic message ids start with `msg_`; an upstream id is kept after that prefix. */
export function anthropicMessageId(id: unknown): string {
  const s = str(id) ?? 'sluice';
  return s.startsWith('msg_') ? s : `msg_${s}`;
}

/**
 * Choice 0 becomes the message (the surface never asks for more): its text (or refusal) as a
 * text block, its tool calls as tool_use blocks with the arguments parsed. `model` is the
 * model the client asked for, which is what Anthropic answers with.
 */
export function openAIResponseToAnthropic(completion: unknown, requestedModel: string, provider = 'upstream'): JsonObject {
  const choice = isRecord(completion) ? arr(completion.choices).find(isRecord) : undefined;
  if (!isRecord(completion) || choice === undefined || !isRecord(choice.message)) throw badResponse(provider, 'an answer without choices');
  const message = choice.message;
  const content: JsonObject[] = [];
  const refusal = str(message.refusal);
  const text = refusal ?? textOfContent(message.content);
  if (text !== '') content.push({ type: 'text', text });
  for (const call of arr(message.tool_calls)) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const args = str(call.function.arguments) ?? '';
    const input = args === '' ? {} : parseObject(args);
    // A model may emit arguments that are not JSON; Anthropic's tool_use needs an object.
    if (input === null) throw badResponse(provider, `tool call arguments that are not a JSON object (${str(call.function.name) ?? '?'})`);
    content.push({ type: 'tool_use', id: str(call.id) ?? '', name: str(call.function.name) ?? '', input });
  }
  return {
    id: anthropicMessageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: requestedModel,
    content,
    stop_reason: refusal !== null ? 'refusal' : stopReasonFromOpenAI(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageFromOpenAI(completion.usage),
  };
}
