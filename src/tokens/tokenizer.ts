import type { Endpoint, JsonObject, ProviderResponse, Usage } from '../providers/types.js';
import { isRecord } from '../lib/json.js';

/** Counts the tokens of a text. */
export type TokenCounter = (text: string) => number;

let loading: Promise<TokenCounter> | null = null;

/**
 * The tokenizer, loaded on first use: its tables take a second or two to load, which every
 * CLI command and every gateway without usage accounting would otherwise pay at start.
 */
export function loadTokenizer(): Promise<TokenCounter> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => m.countTokens);
  return loading;
}

/** Tokens OpenAI's chat format adds around each message (role and separators). */
const TOKENS_PER_MESSAGE = 3;
/** Tokens that prime the assistant's reply. */
const REPLY_PRIMING = 3;

/** The text of a message's content: a string, or the text of its content parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (isRecord(part) && typeof part.text === 'string') text += part.text;
  return text;
}

function promptTokens(endpoint: Endpoint, body: JsonObject, countTokens: TokenCounter): number {
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    let n = REPLY_PRIMING;
    for (const m of messages) n += TOKENS_PER_MESSAGE + (isRecord(m) ? countTokens(contentText(m.content)) : 0);
    return n;
  }
  const input = endpoint === 'embeddings' ? body.input : body.prompt;
  if (typeof input === 'string') return countTokens(input);
  if (Array.isArray(input)) return input.reduce<number>((n, v) => n + (typeof v === 'string' ? countTokens(v) : Array.isArray(v) ? v.length : 0), 0);
  return 0;
}

/** The text an OpenAI-shaped JSON answer generated: message contents, tool arguments, completion texts. */
function completionText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  if (!isRecord(parsed)) return '';
  // A Responses API answer passed through as the provider wrote it (issue 18).
  if (Array.isArray(parsed.output)) return responseOutputText(parsed.output);
  if (!Array.isArray(parsed.choices)) return '';
  let text = '';
  for (const choice of parsed.choices) {
    if (!isRecord(choice)) continue;
    if (typeof choice.text === 'string') text += choice.text;
    const message = choice.message;
    if (!isRecord(message)) continue;
    text += contentText(message.content);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) if (isRecord(call) && isRecord(call.function) && typeof call.function.arguments === 'string') text += call.function.arguments;
    }
  }
  return text;
}

/** The text of a Responses API answer's output: message texts and refusals, function-call arguments. */
function responseOutputText(output: unknown[]): string {
  let text = '';
  for (const item of output) {
    if (!isRecord(item)) continue;
    if (typeof item.arguments === 'string') text += item.arguments;
    if (!Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (!isRecord(part)) continue;
      if (typeof part.text === 'string') text += part.text;
      else if (typeof part.refusal === 'string') text += part.refusal;
    }
  }
  return text;
}

/**
 * Counts a request's tokens with an OpenAI tokenizer (o200k_base, gpt-4o's) when the upstream
 * reported none. Other providers' tokenizers differ, so this is an estimate, and records
 * carry `estimated: true`. A streamed answer's text is not kept, so its completion counts 0.
 */
export function estimateUsage(endpoint: Endpoint, body: JsonObject, response: ProviderResponse | null, countTokens: TokenCounter): Usage {
  const prompt = promptTokens(endpoint, body, countTokens);
  const completion = response?.kind === 'json' ? countTokens(completionText(response.body)) : 0;
  return { promptTokens: prompt, cachedPromptTokens: 0, completionTokens: completion, totalTokens: prompt + completion };
}
