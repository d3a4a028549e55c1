/**
 * A provider batch's results as Sluice records them (issue 21; docs/batches.md): each
 * result becomes its line's output line in OpenAI's batch format, under the client's own
 * `custom_id`, and a usage record marked with the batch id and priced at the batch price
 * (the list price times `batches.priceMultiplier`). Pure.
 */
import { createHash } from 'node:crypto';
import type { UsageRecord } from '../accounting/record.js';
import type { ProviderBatchResult } from '../providers/batch.js';
import { costUsd } from '../tokens/cost.js';
import { scaledPrice, type ModelPrice } from '../tokens/prices.js';
import type { ClaimedProviderBatch, LineResult, ProviderLine } from './provider-store.js';
import { outputLine } from './runner.js';

/** The usage record's `endpoint` for each Batch API endpoint. */
const USAGE_ENDPOINT: Readonly<Record<string, UsageRecord['endpoint']>> = {
  '/v1/chat/completions': 'chat',
  '/v1/messages': 'chat',
  '/v1/responses': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

/**
 * The custom ids the provider is sent, by line: the client's own when the provider takes
 * them all, else `line-<n>` for every line (Anthropic takes only `[a-zA-Z0-9_-]{1,64}`).
 */
export function sentIds(lines: readonly ProviderLine[], pattern: RegExp | null): Map<string, ProviderLine> {
  const own = pattern === null || lines.every((l) => pattern.test(l.customId));
  return new Map(lines.map((l) => [own ? l.customId : `line-${l.line}`, l]));
}

/**
 * A usage record's id, the same every time the same line is recorded (a runner that dies
 * after storing the records and before recording the lines stores them again as no-ops): the
 * submission time, then a hash of the line id, in a UUIDv7's layout.
 */
export function usageRecordId(submittedAt: number, lineId: string): string {
  const time = Math.max(0, Math.floor(submittedAt)).toString(16).padStart(12, '0').slice(-12);
  const h = createHash('sha256').update(lineId).digest('hex');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${h.slice(0, 3)}-${((parseInt(h[3]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(4, 7)}-${h.slice(7, 19)}`;
}

function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const err = (body as { error?: unknown }).error;
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown; type?: unknown }).code ?? (err as { type?: unknown }).type;
  return typeof code === 'string' ? code : null;
}

export interface RecordedResult {
  readonly line: LineResult;
  /** The usage record's JSON text; null for a request that never ran. */
  readonly usage: string | null;
}

/** One result of the provider batch `pb`, for the line `line`; `now` is the wall time it is recorded. */
export function recordResult(pb: ClaimedProviderBatch, line: ProviderLine, r: ProviderBatchResult, provider: string, multiplier: number, now: number, submittedAt: number): RecordedResult {
  const ran = r.status > 0;
  const ok = ran && r.status >= 200 && r.status < 300;
  const result = outputLine(line.customId, ran ? { status: r.status, requestId: r.requestId, body: r.body } : null, r.error);
  if (!ran) return { line: { lineId: line.id, ok: false, result }, usage: null };
  const price: ModelPrice | null = pb.price === null ? null : scaledPrice(pb.price, multiplier);
  const usage = r.usage;
  const record: UsageRecord = {
    id: usageRecordId(submittedAt, line.id),
    request_id: r.requestId === '' ? line.id : r.requestId,
    started_at: new Date(now).toISOString(),
    principal: pb.principal.id,
    key_id: pb.principal.keyId,
    user_id: pb.principal.user,
    tier: pb.principal.tier,
    route: pb.route,
    endpoint: USAGE_ENDPOINT[pb.endpoint] ?? 'chat',
    stream: false,
    provider,
    model: pb.model,
    target_model: pb.targetModel,
    fallback_model: null,
    status: r.status,
    error_code: ok ? null : errorCodeOf(r.body),
    client_gone: false,
    latency_ms: 0,
    ttfb_ms: null,
    upstream_ms: null,
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    cached_prompt_tokens: usage?.cachedPromptTokens ?? 0,
    estimated: false,
    cost_usd: costUsd(usage, price),
    cache: null,
    retries: 0,
    cache_write_tokens: usage?.cacheWriteTokens ?? 0,
    cache_write_1h_tokens: usage?.cacheWrite1hTokens ?? 0,
    reasoning_tokens: usage?.reasoningTokens ?? 0,
    batch_id: pb.batchId,
  };
  return { line: { lineId: line.id, ok, result }, usage: JSON.stringify(record) };
}
