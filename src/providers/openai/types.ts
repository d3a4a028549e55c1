/**
 * The OpenAI chat shapes the translators produce and read. The gateway's canonical form is the
 * OpenAI chat body, so every translator speaks these on one side. Only the fields Sluice
 * writes or reads are typed; everything else passes through as unknown JSON.
 */
import type { Endpoint, Usage } from '../types.js';
import { usageFromOpenAI } from '../usage.js';

/** The path of each endpoint below the API's base (OpenAI's and Azure's alike). */
export const openAIEndpointPaths: Readonly<Record<Endpoint, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** `cache_write_tokens` (all cache writes) and `cache_write_1h_tokens` (their 1-hour part) are not OpenAI's: see usageFromOpenAI. */
  prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number; cache_write_1h_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export interface OpenAIAssistantMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  tool_calls?: OpenAIToolCall[];
}

export interface OpenAIChoice {
  index: number;
  message: OpenAIAssistantMessage;
  logprobs: null;
  finish_reason: OpenAIFinishReason | null;
}

export interface OpenAIChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: OpenAIChoice[];
  usage?: OpenAIUsage;
}

export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface OpenAIDelta {
  role?: 'assistant';
  content?: string | null;
  refusal?: string | null;
  tool_calls?: OpenAIToolCallDelta[];
}

export interface OpenAIChunkChoice {
  index: number;
  delta: OpenAIDelta;
  logprobs: null;
  finish_reason: OpenAIFinishReason | null;
}

export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: OpenAIChunkChoice[];
  usage?: OpenAIUsage | null;
}

/** The gateway's camelCase usage from OpenAI's wire usage. */
export function usageOf(u: OpenAIUsage): Usage {
  return usageFromOpenAI(u) ?? { promptTokens: u.prompt_tokens, cachedPromptTokens: 0, completionTokens: u.completion_tokens, totalTokens: u.total_tokens };
}
