/** What a wire flavour of the standalone mock (OpenAI, Azure, Anthropic, Gemini) provides. */
import type { JsonObject } from '../providers/types.js';
import type { MockEngine } from './engine.js';

/** A complete answer, or a stream of pre-rendered SSE frames. */
export type MockAnswer =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'sse'; readonly frames: readonly string[]; readonly trailer: string };

/** One generation endpoint, matched from the request's path and query. */
export interface MockRoute {
  /** The flavour's error body for an injected fault status. */
  faultBody(engine: MockEngine, status: number): unknown;
  /** The flavour's 400 body for a request body that is not a JSON object. */
  invalidBody(): unknown;
  answer(engine: MockEngine, body: JsonObject): MockAnswer;
}

export function json(body: unknown, status = 200): MockAnswer {
  return { kind: 'json', status, body };
}
