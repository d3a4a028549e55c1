/**
 * The provider adapter contract. Core code (server, pipeline, routing) depends on this file
 * only; it never imports an adapter. Adapters are listed by type in `catalog.ts`.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { CancelSignal } from '../lib/cancel.js';
import type { SluiceError } from '../errors.js';

/** The OpenAI-shaped endpoints Sluice serves. */
export type Endpoint = 'chat' | 'completions' | 'embeddings';

/** Token usage as reported by the upstream (or estimated when it reports none). */
export interface Usage {
  /** The whole prompt, cached part included (OpenAI's convention; Anthropic's is normalised to it). */
  promptTokens: number;
  /** The part of the prompt served from the provider's prompt cache, priced apart. */
  cachedPromptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /**
   * The part of the prompt written to the provider's prompt cache with the default (Anthropic:
   * 5-minute) lifetime, priced apart (`cacheWrite`). Part of `promptTokens`. Absent = 0.
   */
  cacheWriteTokens?: number;
  /** The part of the prompt written to the prompt cache with a 1-hour lifetime (`cacheWrite1h`). Part of `promptTokens`. Absent = 0. */
  cacheWrite1hTokens?: number;
  /** The part of `completionTokens` the model spent reasoning (billed as output). Absent = 0. */
  reasoningTokens?: number;
}

/** A JSON object as parsed from a client body. */
export type JsonObject = Record<string, unknown>;

/** Upstream timeouts for one call, in milliseconds. */
export interface CallTimeouts {
  /** Opening a connection. */
  readonly connectMs: number;
  /** From sending the request to the response headers. */
  readonly firstByteMs: number;
  /** Longest silence between two body chunks. */
  readonly idleMs: number;
}

/** One call to a provider, already routed to a concrete target. */
export interface ProviderCall {
  readonly endpoint: Endpoint;
  /** The client's OpenAI-shaped body with `model` already set to the target's model. */
  readonly body: JsonObject;
  /**
   * The JSON text `body` was parsed from, when `body` is exactly what the client sent (no field
   * changed on the way, model included); else null. An adapter that sends the body on unchanged
   * forwards this text instead of serialising the object again: for a long prompt,
   * serialising is the larger part of the gateway's per-request copying.
   */
  readonly bodyText: string | null;
  readonly stream: boolean;
  /** Whether the client asked for `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Aborted when the client goes away or the gateway gives up; adapters cancel upstream. */
  readonly signal: CancelSignal;
  readonly requestId: string;
  /** The route's timeouts for this target, or null to use the provider's own. */
  readonly timeouts: CallTimeouts | null;
  /**
   * The client's request in its own schema (issue 18, native pass-through). An adapter that
   * speaks `native.schema` to its upstream sends this instead of translating `body`, and
   * answers with `native` set on its response; any other adapter ignores it. Absent or null
   * when the client's schema is the canonical one with nothing more to carry.
   */
  readonly native?: NativeRequest | null;
  /**
   * Tokens the call may use (prompt estimate plus the completion it allows), for picking an API
   * key whose remaining token quota covers it (issue 21). Absent: 0.
   */
  readonly estimatedTokens?: number;
}

/** A client schema a provider may speak natively (issue 18). */
export type NativeSchema = 'anthropic-messages' | 'openai-chat' | 'openai-responses';

/** A client's request as it came, for pass-through to a provider of the same schema. */
export interface NativeRequest {
  readonly schema: NativeSchema;
  /** The client's body as parsed, in its own schema (its `model` is the client's). */
  readonly body: JsonObject;
  /** The text `body` was parsed from, when known. */
  readonly text: string | null;
  /** The client's request headers: an adapter forwards only the ones its schema defines (e.g. `anthropic-beta`), never credentials. */
  readonly headers: IncomingHttpHeaders;
  /**
   * What the canonical body left out because no other schema can carry it (a server tool, a
   * parameter Sluice does not know): the error a target that needs the translation answers
   * with; null when the canonical body says everything.
   */
  readonly refusal: SluiceError | null;
}

/** A complete (non-streamed) answer. `body` is JSON text, sent to the client as is. */
export interface JsonResponse {
  readonly kind: 'json';
  readonly status: number;
  readonly body: string;
  readonly usage: Usage | null;
  /** Set when `body` is the provider's answer in this client schema, as sent (pass-through): the surface writes it unchanged. */
  readonly native?: NativeSchema;
}

/**
 * A streamed answer. `chunks` yields the JSON text of each OpenAI-shaped chunk (what follows
 * `data: ` in SSE), without the final `[DONE]`. Iteration throws a SluiceError when the
 * upstream fails mid-stream; it ends normally only when the upstream completed the stream.
 * `usage()` is valid once iteration has ended.
 */
export interface StreamResponse {
  readonly kind: 'stream';
  readonly status: number;
  readonly chunks: AsyncIterable<string>;
  usage(): Usage | null;
  /**
   * Set when the stream is the provider's, in this client schema (pass-through): each chunk
   * is then the SSE text of one event, framing included, which the surface writes unchanged.
   */
  readonly native?: NativeSchema;
}

export type ProviderResponse = JsonResponse | StreamResponse;

/**
 * What every provider implements. `send` resolves once the upstream has committed to an
 * answer (status and headers received, or the first chunk ready), and rejects with a
 * SluiceError when it failed before that point — so retries and fallbacks can still act.
 */
export interface ProviderAdapter {
  readonly name: string;
  readonly type: string;
  /** The client schemas this adapter passes through natively (ProviderCall.native); absent: none. */
  readonly natives?: ReadonlySet<NativeSchema>;
  send(call: ProviderCall): Promise<ProviderResponse>;
  /**
   * A cheap liveness check for active health checking: resolves when the provider answers
   * as usable, rejects otherwise. Optional; providers without it are checked passively only.
   */
  probe?(signal: AbortSignal): Promise<void>;
  /**
   * Counts the prompt tokens of a client's request in its own schema (`call.native`), with the
   * provider's own counter (Anthropic's `/v1/messages/count_tokens`); the answer is the
   * provider's, passed through. Optional: without it the gateway estimates (issue 18).
   */
  countTokens?(call: ProviderCall): Promise<JsonResponse>;
  close(): Promise<void>;
  /** The provider's API key pool (issue 21); absent for a provider without keys (the mock). */
  readonly keys?: ProviderKeys;
  /** Most inputs the provider takes in one embeddings call; batching stays under it (issue 21). Absent: no limit known. */
  readonly maxEmbeddingInputs?: number;
}

/** A provider's API key pool as routing, metrics and reload see it (issue 21; providers/keys/pool.ts). */
export interface ProviderKeys {
  /** Monotonic ms from which at least one key can be used: while it is ahead of now, every key rests and the target is out of rotation. */
  readonly usableAt: number;
  /** Each key's state, by short id (never the key). */
  snapshot(): KeySnapshot[];
  /** Takes over the state of the keys (same id) of the previous config version's pool. */
  carryFrom(previous: ProviderKeys): void;
}

export interface KeySnapshot {
  readonly provider: string;
  /** The key's short id: the first 8 hex digits of its SHA-256. */
  readonly key: string;
  readonly state: 'serving' | 'resting' | 'removed';
  /** Calls sent with the key. */
  readonly sent: number;
  /** Rests begun (429s and exhausted quotas). */
  readonly rests: number;
  /** Milliseconds of rest left (0 when serving). */
  readonly restingMs: number;
}
