import type { SluiceError } from '../errors.js';
import type { RequestContext } from '../exchange/context.js';
import type { Principal } from '../exchange/principal.js';
import type { Endpoint, JsonObject, NativeSchema } from '../providers/types.js';

/** Writes a stream's frames in one client schema. One instance per stream (it may keep state). */
export interface StreamFraming {
  /** SSE text for one OpenAI chunk (JSON text); may be empty. */
  chunk(json: string): string;
  /** SSE text that ends a complete stream. */
  end(): string;
  /** SSE text that ends a failed stream. */
  error(err: SluiceError, ctx: RequestContext): string;
}

/**
 * A client schema the gateway speaks: how a request body becomes the canonical (OpenAI)
 * form, and how answers, streams and errors are written back. The pipeline in between is
 * the same for every dialect.
 */
export interface Dialect {
  /** Validates and translates a client body; throws a SluiceError naming the bad field. */
  request(endpoint: Endpoint, body: unknown): JsonObject;
  /** The answer body for a complete OpenAI-shaped JSON answer. */
  json(body: string, ctx: RequestContext): string;
  framing(ctx: RequestContext): StreamFraming;
  errorBody(err: SluiceError, requestId: string): unknown;
  /**
   * A header that carries the request id on every answer besides `x-request-id`, where the
   * dialect's SDKs read it from (Anthropic's `request-id`: the SDK's `_request_id`, `err.requestID`).
   */
  readonly idHeader?: string;
  /**
   * The schema a provider may speak natively to this dialect's clients (pass-through, issue
   * 18), and how its streams are written: chunks are then the provider's SSE events, as sent.
   */
  readonly native?: NativeDialect;
  /**
   * A stateful surface only (the Responses API, issue 18): translates once the caller is known,
   * instead of `request`, and returns the body to route and the dialect that answers this one
   * request (earlier turns are the caller's own; what is answered may be kept for them).
   */
  bind?(body: unknown, principal: Principal): Promise<BoundDialect>;
}

/** What a dialect needs for pass-through: its schema and the framing of native streams. */
export interface NativeDialect {
  readonly schema: NativeSchema;
  /**
   * Like Dialect.request, but what only a pass-through can carry is left out of the canonical
   * body instead of refused; the refusal is returned for targets that need the translation.
   */
  request(endpoint: Endpoint, body: unknown): { body: JsonObject; refusal: SluiceError | null };
  /** Which endpoints the client's body is passed on for (Anthropic's: `chat`, /v1/messages). */
  readonly endpoints: ReadonlySet<Endpoint>;
  readonly framing: StreamFraming;
  /** A stateful dialect only (the Responses API): sees a passed-through JSON answer before it is written, to keep it. */
  answered?(body: string, ctx: RequestContext): void;
}

/** A request bound to its caller by a stateful dialect: the body to route and who answers it. */
export interface BoundDialect {
  readonly body: JsonObject;
  readonly dialect: Dialect;
  /**
   * The body for a target that speaks `dialect.native.schema` itself (pass-through, issue 18),
   * and what the canonical body left out (the error for targets that need the translation).
   */
  readonly native?: { readonly body: JsonObject; readonly refusal: SluiceError | null };
}
