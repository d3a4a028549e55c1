import type { Endpoint, JsonObject } from '../providers/types.js';

/** Characters per token of English text for OpenAI-style tokenizers; an estimate only. */
const CHARS_PER_TOKEN = 4;

/**
 * Characters of text in a message list or input: strings, content parts' `text`, and nested
 * `content`. Walked with an explicit stack: client data never drives recursion (issue 15).
 */
function textLength(root: unknown): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') n += value.length;
    else if (Array.isArray(value)) for (const v of value) stack.push(v);
    else if (typeof value === 'object' && value !== null) {
      const o = value as Record<string, unknown>;
      // Content parts: count their text, not image bytes.
      if (typeof o.text === 'string') n += o.text.length;
      else stack.push(o.content);
    }
  }
  return n;
}

/**
 * A cheap estimate of a request's prompt tokens, for admission (token limits) and cost-based
 * routing before the upstream reports real usage: about 4 characters per token, plus a few
 * tokens of framing per message.
 */
export function estimatePromptTokens(endpoint: Endpoint, body: JsonObject): number {
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    return Math.ceil(textLength(messages) / CHARS_PER_TOKEN) + 4 * messages.length;
  }
  return Math.ceil(textLength(endpoint === 'embeddings' ? body.input : body.prompt) / CHARS_PER_TOKEN);
}

/**
 * What budgets reserve, and token limits at most reserve (never more than fits the limit's
 * burst beside the prompt), for a completion that declares no `max_tokens` /
 * `max_completion_tokens` (docs/limits.md). Reservations are settled to the real usage.
 */
export const DEFAULT_COMPLETION_TOKENS = 256;

/** The completion budget a request declares, or `fallback` when it declares none. */
export function declaredMaxTokens(body: JsonObject, fallback: number): number {
  return declaredCompletionTokens(body) ?? fallback;
}

/** The completion budget a request declares, or null when it declares none. */
export function declaredCompletionTokens(body: JsonObject): number | null {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' && v > 0 ? Math.ceil(v) : null;
}
