import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute, CompiledTarget } from '../config/compile.js';
import type { ErrorCode, SluiceError } from '../errors.js';
import type { Endpoint, JsonObject, ProviderResponse, Usage } from '../providers/types.js';
import type { Principal } from './principal.js';
import type { CacheResult, Settlement, SettlementInputs } from './results.js';

/** One call to one upstream target (dispatch), kept on the request when tracing is on. */
export interface UpstreamAttempt {
  readonly target: CompiledTarget;
  /** Monotonic milliseconds: sent, and answered (headers; the first chunk of a stream) or failed. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Why the attempt failed; null when it answered. */
  readonly error: SluiceError | null;
}

const NO_ATTEMPTS: readonly UpstreamAttempt[] = Object.freeze([]);

/**
 * A finished model request, as its subscribers (metrics, request log, traces, usage records,
 * limit and budget settlement) see it. Built once when the request ends and frozen: every
 * subscriber sees the same values, and none can change them for the next. What it refers to
 * (the compiled route and target, the principal) is frozen config or shared identity; the
 * body and response are the request's own, referred to and never copied, read only to count
 * tokens an upstream did not report.
 */
export interface RequestSummary extends SettlementInputs {
  readonly id: string;
  readonly endpoint: Endpoint;
  /** The model the client asked for. */
  readonly model: string;
  readonly stream: boolean;
  readonly route: CompiledRoute;
  readonly principal: Principal;
  /** The target that answered (or was tried last); null when none was tried. */
  readonly target: CompiledTarget | null;
  /** The fallback model that answered, when the route's own targets did not. */
  readonly fallbackModel: string | null;
  /** HTTP status sent to the client (200 for a stream that later failed). */
  readonly status: number;
  readonly errorCode: ErrorCode | null;
  /** True when the client went away before the answer was complete. */
  readonly clientGone: boolean;
  /** Monotonic milliseconds: arrival, first byte to the client (-1: none), end. */
  readonly startedAt: number;
  readonly firstByteAt: number;
  readonly endedAt: number;
  /** Milliseconds from sending the answering attempt to its response; -1 when none answered. */
  readonly upstreamMs: number;
  readonly queueWaitMs: number;
  /** Attempts after the first, across fallbacks. */
  readonly retries: number;
  /** Tokens the upstream reported; null when it reported none. */
  readonly usage: Usage | null;
  readonly cacheResult: CacheResult | null;
  /** What admission took, for the settlement subscriber to make good; null when nothing was taken. */
  readonly settlement: Settlement | null;
  /** Upstream attempts in order (only recorded when tracing is on; empty otherwise). */
  readonly attempts: readonly UpstreamAttempt[];
  /** The caller's W3C trace context headers, for the request span's parent. */
  readonly traceparent: string | null;
  readonly tracestate: string | null;
  /** The canonical request body (not a copy): for counting prompt tokens nobody reported. */
  readonly body: JsonObject;
  /** The answer (not a copy): for counting completion tokens nobody reported. */
  readonly response: ProviderResponse | null;
  /** The batch the request was a line of (issue 21); null for a client's own request. */
  readonly batchId: string | null;
}

/**
 * The fields of a finished model request that its summary is built from (RequestContext): the
 * summary's own, but the attempts as recorded (null when tracing is off) and the trace context
 * still in the client's headers.
 */
export type FinishedRequest = Omit<RequestSummary, 'attempts' | 'traceparent' | 'tracestate'> & {
  readonly attempts: readonly UpstreamAttempt[] | null;
  readonly headers: IncomingHttpHeaders;
};

function header(v: string | string[] | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * The frozen summary of a finished model request: one object literal (one shape for every
 * request) and one freeze; the token counts are frozen with it, nothing else is copied.
 */
export function summarize(ctx: FinishedRequest): RequestSummary {
  const usage = ctx.usage;
  if (usage !== null && !Object.isFrozen(usage)) Object.freeze(usage);
  const attempts = ctx.attempts;
  return Object.freeze({
    id: ctx.id,
    endpoint: ctx.endpoint,
    model: ctx.model,
    stream: ctx.stream,
    route: ctx.route,
    principal: ctx.principal,
    target: ctx.target,
    fallbackModel: ctx.fallbackModel,
    status: ctx.status,
    errorCode: ctx.errorCode,
    clientGone: ctx.clientGone,
    startedAt: ctx.startedAt,
    firstByteAt: ctx.firstByteAt,
    endedAt: ctx.endedAt,
    upstreamMs: ctx.upstreamMs,
    queueWaitMs: ctx.queueWaitMs,
    retries: ctx.retries,
    usage,
    cacheResult: ctx.cacheResult,
    settlement: ctx.settlement,
    attempts: attempts === null ? NO_ATTEMPTS : Object.freeze(attempts.slice()),
    traceparent: header(ctx.headers.traceparent),
    tracestate: header(ctx.headers.tracestate),
    body: ctx.body,
    response: ctx.response,
    batchId: ctx.batchId,
  });
}

/** A finished request to an HTTP service, as its subscribers see it (see RequestSummary). */
export interface ServiceSummary extends SettlementInputs {
  readonly id: string;
  /** The service's name. */
  readonly service: string;
  readonly method: string;
  /** Path and query, normalised: what was matched and forwarded. */
  readonly url: string;
  /** The instance that answered (its configured URL), or the last one tried. */
  readonly instance: string | null;
  readonly principal: Principal;
  readonly status: number;
  readonly errorCode: ErrorCode | null;
  readonly clientGone: boolean;
  readonly startedAt: number;
  readonly firstByteAt: number;
  readonly endedAt: number;
  readonly retries: number;
  readonly cacheResult: string | null;
  readonly settlement: Settlement | null;
  // No model, no tokens, no priced target on an HTTP service.
  readonly model: null;
  readonly usage: null;
  readonly target: null;
}

/** The fields of a finished service request that its summary is built from (HttpContext): the service itself rather than its name. */
export type FinishedServiceRequest = Omit<ServiceSummary, 'service' | 'model' | 'usage' | 'target'> & { readonly service: { readonly name: string } };

/** The frozen summary of a finished service request. */
export function summarizeService(ctx: FinishedServiceRequest): ServiceSummary {
  return Object.freeze({
    id: ctx.id,
    service: ctx.service.name,
    method: ctx.method,
    url: ctx.url,
    instance: ctx.instance,
    principal: ctx.principal,
    status: ctx.status,
    errorCode: ctx.errorCode,
    clientGone: ctx.clientGone,
    startedAt: ctx.startedAt,
    firstByteAt: ctx.firstByteAt,
    endedAt: ctx.endedAt,
    retries: ctx.retries,
    cacheResult: ctx.cacheResult,
    settlement: ctx.settlement,
    model: null,
    usage: null,
    target: null,
  });
}
