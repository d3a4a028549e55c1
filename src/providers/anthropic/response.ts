/** Anthropic Message → OpenAI chat.completion, with usage. Pure. */
import type { JsonObject } from '../types.js';
import { badResponse } from '../http/errors.js';
import { arr, isRecord, num, str } from '../http/json.js';
import type { OpenAIChatCompletion, OpenAIFinishReason, OpenAIToolCall, OpenAIUsage } from '../openai/types.js';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. `pause_turn` (a server tool paused a long
 * turn) has no OpenAI counterpart; the turn did end, so it is a `stop`.
 */
export function finishReasonFromAnthropic(reason: unknown): OpenAIFinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Anthropic counts cache reads and cache writes apart from `input_tokens`; OpenAI's
 * `prompt_tokens` is the whole prompt, with the cached part in `prompt_tokens_details`. So the
 * prompt is normalised to OpenAI's convention: prompt_tokens = input_tokens +
 * cache_read_input_tokens + cache_creation_input_tokens, and each part is priced apart
 * (src/tokens/cost.ts). Cache writes go in `prompt_tokens_details.cache_write_tokens` (all
 * writes, OpenRouter's name) and `cache_write_1h_tokens` (the part written with a 1-hour
 * lifetime, from `cache_creation.ephemeral_1h_input_tokens`); usageFromOpenAI reads them back.
 * Anthropic's `output_tokens` already includes thinking, as OpenAI's completion_tokens includes
 * reasoning tokens.
 */
export function usageFromAnthropic(u: unknown): OpenAIUsage | null {
  if (!isRecord(u)) return null;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === null && output === null) return null;
  const cacheRead = num(u.cache_read_input_tokens) ?? 0;
  const split = isRecord(u.cache_creation) ? u.cache_creation : {};
  const writes5m = num(split.ephemeral_5m_input_tokens) ?? 0;
  const writes1h = num(split.ephemeral_1h_input_tokens) ?? 0;
  // The total is authoritative when sent; the split alone (a proxy that drops it) still counts.
  const writes = num(u.cache_creation_input_tokens) ?? writes5m + writes1h;
  const prompt = (input ?? 0) + cacheRead + writes;
  const completion = output ?? 0;
  const details: NonNullable<OpenAIUsage['prompt_tokens_details']> = { cached_tokens: cacheRead };
  if (writes > 0) details.cache_write_tokens = writes;
  if (writes1h > 0) details.cache_write_1h_tokens = Math.min(writes1h, writes);
  const usage: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: details };
  const thinking = isRecord(u.output_tokens_details) ? num(u.output_tokens_details.thinking_tokens) : null;
  if (thinking !== null) usage.completion_tokens_details = { reasoning_tokens: thinking };
  return usage;
}

export interface AnthropicResponseOptions {
  readonly provider: string;
  /** Unix seconds for `created` (Anthropic does not send one). */
  readonly created: number;
}

/**
 * Text blocks are joined into `content`; `tool_use` blocks become `tool_calls` with their
 * input serialised as the arguments string. Thinking and server-tool blocks have no OpenAI
 * counterpart and are left out.
 */
export function openAIFromAnthropicMessage(msg: JsonObject, opts: AnthropicResponseOptions): OpenAIChatCompletion {
  if (msg.type !== 'message' || !Array.isArray(msg.content)) throw badResponse(opts.provider, 'an answer that is not an Anthropic message');
  let text: string | null = null;
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of arr(msg.content)) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text = (text ?? '') + block.text;
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: str(block.id) ?? '', type: 'function', function: { name: str(block.name) ?? '', arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const message: OpenAIChatCompletion['choices'][number]['message'] = { role: 'assistant', content: text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const completion: OpenAIChatCompletion = {
    id: str(msg.id) ?? 'msg',
    object: 'chat.completion',
    created: opts.created,
    model: str(msg.model) ?? '',
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonFromAnthropic(msg.stop_reason) }],
  };
  const usage = usageFromAnthropic(msg.usage);
  if (usage !== null) completion.usage = usage;
  return completion;
}
