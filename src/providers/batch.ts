/**
 * A provider's own batch API (issue 21, batch pass-through; docs/batches.md): OpenAI's Files +
 * Batch API (and Azure's copy of it), Anthropic's Message Batches. An adapter that has one
 * exposes it as a `batches` property (`batchApiOf`); the batch pass-through
 * (src/batches/provider-*.ts) depends on this contract only, never on an adapter.
 *
 * Every call uses the provider's first API key: a provider batch belongs to the account (or
 * project) that created it, so polling, cancelling and reading it must use the same key.
 */
import type { JsonObject, ProviderAdapter, Usage } from './types.js';

/** One request of a provider batch, already in the provider's wire format (`prepare`). */
export interface ProviderBatchRequest {
  /** The id the provider gets; its results name it. */
  readonly customId: string;
  readonly body: JsonObject;
}

/** What identifies a provider batch once created; persisted so that any instance can carry on. */
export interface ProviderBatchRef {
  readonly id: string;
  /** The uploaded input file (OpenAI, Azure); null where requests are sent inline (Anthropic). */
  readonly fileId: string | null;
}

/** A provider batch as a poll saw it. */
export interface ProviderBatchState {
  /** The provider's own status word (`in_progress`, `ended` …), for logs and the Batch object. */
  readonly status: string;
  /** No more results will come: read them. */
  readonly ended: boolean;
  /** Ended without running its requests (OpenAI's `failed`: its input was refused): what the provider said. */
  readonly refused: string | null;
  /** Ended by its expiry: requests without a result expired. */
  readonly expired: boolean;
}

/** One request's result, in the client's schema (the batch's endpoint). */
export interface ProviderBatchResult {
  /** The `customId` it was sent with. */
  readonly customId: string;
  /** The HTTP status the request would have had; 0 when it never ran (see `error`). */
  readonly status: number;
  /** The provider's request id, when it gives one. */
  readonly requestId: string;
  /** The answer's body, in the client's schema; null when it never ran. */
  readonly body: unknown;
  /** Why a request never ran (cancelled, expired), as OpenAI's batch error lines say it. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Not run because the batch was cancelled: a cancelled batch keeps only what ran. */
  readonly cancelled: boolean;
  readonly usage: Usage | null;
}

export interface ProviderBatchApi {
  /** The Batch API endpoints (`/v1/chat/completions` …) this provider's batch API takes. */
  readonly endpoints: ReadonlySet<string>;
  /**
   * A custom id the provider accepts (Anthropic: `^[a-zA-Z0-9_-]{1,64}$`); null: any. A batch
   * with one that does not fit sends ids of its own and maps the results back.
   */
  readonly customIdPattern: RegExp | null;
  /** A client's line body (model already the upstream model) in the provider's format; throws a SluiceError when it cannot be translated. Pure. */
  prepare(endpoint: string, body: JsonObject): JsonObject;
  /**
   * Creates the provider batch (uploading its input first where the provider needs a file).
   * `tag` names it (Sluice's batch id, in the provider's metadata where it has some). When
   * `resumeSince` is set, a previous attempt (from that time, epoch ms) may have created it
   * before its instance died: the provider's recent batches are searched first and the one
   * found is returned instead of creating another. Rejects with a SluiceError.
   */
  submit(endpoint: string, requests: readonly ProviderBatchRequest[], tag: string, resumeSince: number | null): Promise<ProviderBatchRef>;
  poll(ref: ProviderBatchRef): Promise<ProviderBatchState>;
  cancel(ref: ProviderBatchRef): Promise<void>;
  /** Every result of an ended batch, translated to the client's schema of `endpoint`. */
  results(ref: ProviderBatchRef, endpoint: string): Promise<ProviderBatchResult[]>;
}

/** The adapter's batch API, or null when its provider has none. */
export function batchApiOf(adapter: ProviderAdapter): ProviderBatchApi | null {
  const api = (adapter as ProviderAdapter & { readonly batches?: ProviderBatchApi }).batches;
  return api ?? null;
}
