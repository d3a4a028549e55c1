/** Gemini GenerateContentResponse → OpenAI chat.completion, with usage. Pure. */
import type { JsonObject } from '../types.js';
import { badResponse, contentBlocked } from '../http/errors.js';
import { arr, isRecord, num, str } from '../http/json.js';
import type { OpenAIChatCompletion, OpenAIChoice, OpenAIFinishReason, OpenAIToolCall, OpenAIUsage } from '../openai/types.js';

/** Finish reasons that mean a filter withheld (part of) the answer. */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);
/** Finish reasons that mean the model failed to produce a usable tool call. */
const BROKEN_CALL = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS']);

export function isFilteredFinish(reason: unknown): boolean {
  return typeof reason === 'string' && FILTERED.has(reason);
}

/**
 * Gemini `finishReason` → OpenAI `finish_reason`. Gemini says STOP after function calls too,
 * where OpenAI says `tool_calls`. A broken tool call is an upstream failure, not an answer.
 */
export function finishReasonFromGemini(reason: unknown, hasToolCalls: boolean, provider: string): OpenAIFinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (isFilteredFinish(reason)) return 'content_filter';
  if (typeof reason === 'string' && BROKEN_CALL.has(reason)) throw badResponse(provider, `no usable answer (finishReason ${reason})`);
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** Thinking tokens count as completion tokens, as OpenAI counts reasoning tokens. */
export function usageFromGemini(meta: unknown): OpenAIUsage | null {
  if (!isRecord(meta)) return null;
  const prompt = num(meta.promptTokenCount);
  if (prompt === null) return null;
  const thoughts = num(meta.thoughtsTokenCount) ?? 0;
  const completion = (num(meta.candidatesTokenCount) ?? 0) + thoughts;
  const usage: OpenAIUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: num(meta.totalTokenCount) ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: num(meta.cachedContentTokenCount) ?? 0 },
  };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

/** A candidate's visible text (thought summaries left out) and its function calls. */
export function candidateParts(candidate: JsonObject, callId: (n: number) => string, firstCall = 0): { text: string | null; calls: OpenAIToolCall[] } {
  let text: string | null = null;
  const calls: OpenAIToolCall[] = [];
  const content = isRecord(candidate.content) ? candidate.content : {};
  for (const part of arr(content.parts)) {
    if (!isRecord(part) || part.thought === true) continue;
    if (typeof part.text === 'string') text = (text ?? '') + part.text;
    else if (isRecord(part.functionCall)) {
      const fc = part.functionCall;
      const id = str(fc.id) ?? callId(firstCall + calls.length);
      calls.push({ id, type: 'function', function: { name: str(fc.name) ?? '', arguments: JSON.stringify(fc.args ?? {}) } });
    }
  }
  return { text, calls };
}

/** The block reason when Gemini refused the prompt itself (no candidates at all). */
export function promptBlockReason(resp: JsonObject): string | null {
  return isRecord(resp.promptFeedback) ? str(resp.promptFeedback.blockReason) : null;
}

export interface GeminiResponseOptions {
  readonly provider: string;
  readonly created: number;
  /** The requested model, used when Gemini does not report `modelVersion`. */
  readonly model: string;
  /** Used for `id` and tool call ids when Gemini sends no `responseId`. */
  readonly fallbackId: string;
}

/**
 * A refused prompt, or an answer whose every candidate was withheld by a filter, is a
 * SluiceError (content blocked); a partly filtered answer keeps its text with `content_filter`.
 */
export function openAIFromGeminiResponse(resp: JsonObject, opts: GeminiResponseOptions): OpenAIChatCompletion {
  const blocked = promptBlockReason(resp);
  const candidates = arr(resp.candidates).filter(isRecord);
  if (blocked !== null && candidates.length === 0) throw contentBlocked(opts.provider, blocked);
  if (candidates.length === 0) throw badResponse(opts.provider, 'an answer without candidates');
  const id = str(resp.responseId) ?? opts.fallbackId;
  let filtered: string | null = null;
  let delivered = false;
  const choices: OpenAIChoice[] = candidates.map((c, i) => {
    const index = num(c.index) ?? i;
    const { text, calls } = candidateParts(c, (n) => `call_${id}_${index}_${n}`);
    if (text === null && calls.length === 0 && isFilteredFinish(c.finishReason)) filtered = String(c.finishReason);
    else delivered = true;
    const message: OpenAIChoice['message'] = { role: 'assistant', content: text, refusal: null };
    if (calls.length > 0) message.tool_calls = calls;
    return { index, message, logprobs: null, finish_reason: finishReasonFromGemini(c.finishReason, calls.length > 0, opts.provider) };
  });
  if (!delivered && filtered !== null) throw contentBlocked(opts.provider, filtered);
  const completion: OpenAIChatCompletion = { id, object: 'chat.completion', created: opts.created, model: str(resp.modelVersion) ?? opts.model, choices };
  const usage = usageFromGemini(resp.usageMetadata);
  if (usage !== null) completion.usage = usage;
  return completion;
}
