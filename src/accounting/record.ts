import { randomUUID } from 'node:crypto';
import type { RequestSummary } from '../exchange/summary.js';
import type { Usage } from '../providers/types.js';
import { costUsd } from '../tokens/cost.js';
import { answeringPrice, type PriceBook } from '../tokens/prices.js';
import { estimateUsage, type TokenCounter } from '../tokens/tokenizer.js';

/**
 * One request as stored in `usage_records`. Field names are the table's columns, so a batch
 * of records goes to the database as one JSON document (see store.ts) and the spool holds
 * the same text.
 */
export interface UsageRecord {
  /**
   * The record's id, made by the gateway when the record is built (a UUIDv7): the primary
   * key that makes a replayed insert a no-op. Spooled with the record, so a replay keeps it.
   */
  readonly id: string;
  /** The request id echoed in `x-request-id` (the client's own when it sent one): an attribute, not a key (issue 15). */
  readonly request_id: string;
  /** ISO time the request arrived. */
  readonly started_at: string;
  /** `key:<id>`, `jwt:<subject>` or `anonymous`. */
  readonly principal: string;
  readonly key_id: string | null;
  readonly user_id: string | null;
  readonly tier: string;
  readonly route: string;
  readonly endpoint: string;
  readonly stream: boolean;
  /** The provider of the target that answered; null when none did. */
  readonly provider: string | null;
  /** The model the client asked for. */
  readonly model: string;
  /** The model sent upstream by the target that answered; null when none did. */
  readonly target_model: string | null;
  readonly fallback_model: string | null;
  readonly status: number;
  readonly error_code: string | null;
  readonly client_gone: boolean;
  readonly latency_ms: number;
  readonly ttfb_ms: number | null;
  readonly upstream_ms: number | null;
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly cached_prompt_tokens: number;
  /** True when the upstream reported no usage and the tokens were counted by Sluice. */
  readonly estimated: boolean;
  readonly cost_usd: number;
  /** What the response cache did (hit, miss, coalesced, bypass); null when the route does not cache. */
  readonly cache: string | null;
  readonly retries: number;
  /** Prompt tokens written to the provider's prompt cache with the default (5-minute) lifetime; part of `prompt_tokens`. */
  readonly cache_write_tokens: number;
  /** Prompt tokens written to the prompt cache with a 1-hour lifetime; part of `prompt_tokens`. */
  readonly cache_write_1h_tokens: number;
  /** Completion tokens the model spent reasoning; part of `completion_tokens`. */
  readonly reasoning_tokens: number;
  /** The batch the request was a line of (issue 21); null for a client's own request. */
  readonly batch_id: string | null;
}

/**
 * A UUIDv7 (RFC 9562): the time in ms, then random bits. Time-ordered, so new records land
 * at the end of the primary key's index. A random UUID with its first 48 bits replaced by
 * the time and its version set to 7 (the variant bits are already RFC 9562's).
 */
export function recordId(nowMs: number): string {
  const hex = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  const r = randomUUID();
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${r.slice(15)}`;
}

/** A NUL, or a UTF-16 surrogate (then checked for a partner): text no database stores as it is. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE = /[\u0000\ud800-\udfff]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text any database stores: NUL and lone surrogates become U+FFFD. PostgreSQL refuses both
 * in text (and in json, as \u0000 or an unpaired \udXXX escape), which dropped the record
 * of a request that had been answered (issue 15). Paired surrogates (emoji) are kept.
 */
export function storable(text: string): string {
  if (!UNSTORABLE.test(text)) return text;
  return text.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATE, '\ufffd');
}

function storableOrNull(text: string | null): string | null {
  return text === null ? null : storable(text);
}

/** Milliseconds rounded to hundredths: sub-millisecond digits are noise here. */
function ms(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * Whether upstream tokens were spent but not reported, so Sluice must count them: an
 * answered request with no usage that did not come from the response cache.
 */
export function needsEstimate(ctx: RequestSummary): boolean {
  return ctx.usage === null && ctx.target !== null && ctx.status > 0 && ctx.status < 400 && ctx.cacheResult !== 'hit' && ctx.cacheResult !== 'coalesced';
}

/**
 * The usage record of a finished request. `nowWall` is the wall-clock time of the end;
 * the start is derived from the monotonic durations the summary carries. `countTokens` is
 * needed only when `needsEstimate(ctx)`.
 */
export function toUsageRecord(ctx: RequestSummary, prices: PriceBook, nowWall: number, countTokens: TokenCounter | null): UsageRecord {
  const latency = ctx.endedAt >= 0 ? ctx.endedAt - ctx.startedAt : 0;
  let usage: Usage | null = ctx.usage;
  const estimated = countTokens !== null && needsEstimate(ctx);
  if (estimated) usage = estimateUsage(ctx.endpoint, ctx.body, ctx.response, countTokens);
  const target = ctx.target;
  return {
    id: recordId(nowWall),
    request_id: storable(ctx.id),
    started_at: new Date(nowWall - latency).toISOString(),
    principal: storable(ctx.principal.id),
    key_id: storableOrNull(ctx.principal.keyId),
    user_id: storableOrNull(ctx.principal.user),
    tier: storable(ctx.principal.tier),
    route: storable(ctx.route.name),
    endpoint: ctx.endpoint,
    stream: ctx.stream,
    provider: storableOrNull(target?.provider ?? null),
    model: storable(ctx.model),
    target_model: target === null ? null : storable(target.model ?? ctx.model),
    fallback_model: storableOrNull(ctx.fallbackModel),
    status: ctx.status,
    error_code: ctx.errorCode,
    client_gone: ctx.clientGone,
    latency_ms: ms(latency),
    ttfb_ms: ctx.firstByteAt < 0 ? null : ms(ctx.firstByteAt - ctx.startedAt),
    upstream_ms: ctx.upstreamMs < 0 ? null : ms(ctx.upstreamMs),
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    cached_prompt_tokens: usage?.cachedPromptTokens ?? 0,
    estimated,
    cost_usd: costUsd(usage, answeringPrice(prices, target, ctx.model)),
    cache: ctx.cacheResult,
    retries: ctx.retries,
    cache_write_tokens: usage?.cacheWriteTokens ?? 0,
    cache_write_1h_tokens: usage?.cacheWrite1hTokens ?? 0,
    reasoning_tokens: usage?.reasoningTokens ?? 0,
    batch_id: ctx.batchId,
  };
}
