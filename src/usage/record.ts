import type { RequestContext } from '../pipeline/context.js';
import type { Usage } from '../providers/types.js';
import { costUsd } from './cost.js';
import { answeringPrice, type PriceBook } from './prices.js';
import { estimateUsage, type TokenCounter } from './tokens.js';

/**
 * One request as stored in `usage_records`. Field names are the table's columns, so a batch
 * of records goes to the database as one JSON document (see store.ts) and the spool holds
 * the same text.
 */
export interface UsageRecord {
  /** The request id: the primary key that makes a replayed insert a no-op. */
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
}

/** Milliseconds rounded to hundredths: sub-millisecond digits are noise here. */
function ms(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * Whether upstream tokens were spent but not reported, so Sluice must count them: an
 * answered request with no usage that did not come from the response cache.
 */
export function needsEstimate(ctx: RequestContext): boolean {
  return ctx.usage === null && ctx.target !== null && ctx.status > 0 && ctx.status < 400 && ctx.cacheResult !== 'hit' && ctx.cacheResult !== 'coalesced';
}

/**
 * The usage record of a finished request. `nowWall` is the wall-clock time of the end;
 * the start is derived from the monotonic durations the context carries. `countTokens` is
 * needed only when `needsEstimate(ctx)`.
 */
export function toUsageRecord(ctx: RequestContext, prices: PriceBook, nowWall: number, countTokens: TokenCounter | null): UsageRecord {
  const latency = ctx.endedAt >= 0 ? ctx.endedAt - ctx.startedAt : 0;
  let usage: Usage | null = ctx.usage;
  const estimated = countTokens !== null && needsEstimate(ctx);
  if (estimated) usage = estimateUsage(ctx.endpoint, ctx.body, ctx.response, countTokens);
  const target = ctx.target;
  return {
    request_id: ctx.id,
    started_at: new Date(nowWall - latency).toISOString(),
    principal: ctx.principal.id,
    key_id: ctx.principal.keyId,
    user_id: ctx.principal.user,
    tier: ctx.principal.tier,
    route: ctx.route.name,
    endpoint: ctx.endpoint,
    stream: ctx.stream,
    provider: target?.provider ?? null,
    model: ctx.model,
    target_model: target === null ? null : (target.model ?? ctx.model),
    fallback_model: ctx.fallbackModel,
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
  };
}
