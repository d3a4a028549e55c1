import type { CompiledRoute, CompiledTarget } from '../config/compile.js';
import { SluiceError, type ErrorCode } from '../errors.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { declaredCompletionTokens, estimatePromptTokens } from '../tokens/estimate.js';
import { ANONYMOUS, type Principal } from './principal.js';
import type { CacheResult, Settlement } from './results.js';
import type { UpstreamAttempt } from './summary.js';
import type { Endpoint, JsonObject, NativeRequest, ProviderResponse, Usage } from '../providers/types.js';
import { Cancellation } from '../lib/cancel.js';

/**
 * The admit stage's view of the exchange: what it reads, and (not readonly) its own result.
 * Model requests and HTTP-route requests both carry it, so one admit stage serves both kinds
 * of route. Settlement reads the request's summary once it ended (SettlementInputs).
 */
export interface AdmissionContext {
  readonly principal: Principal;
  /** The requested model; null on HTTP routes, where a key's model allowlist does not apply. */
  readonly model: string | null;
  /** The JSON body of a model request; empty on HTTP routes, whose bodies stream through. */
  readonly body: JsonObject;
  readonly estimatedPromptTokens: number;
  /** The completion tokens the request declares (max_tokens / max_completion_tokens; 0 for embeddings), null when it declares none. */
  readonly declaredCompletionTokens: number | null;
  readonly requestedPriority: number | null;
  priority: number;
  settlement: Settlement | null;
  responseHeaders: Record<string, string> | null;
}

/**
 * Everything one request carries through the pipeline. Stages communicate only through these
 * fields; every field is initialised here so the object keeps one shape.
 */
export class RequestContext implements AdmissionContext {
  readonly id: string;
  readonly endpoint: Endpoint;
  /** Monotonic milliseconds at arrival. */
  readonly startedAt: number;
  /** Aborted when the client leaves or the route's total timeout passes; stages pass it upstream. */
  readonly controller: Cancellation;
  readonly body: JsonObject;
  /** The JSON text `body` was parsed from, when `body` is the client's own object; else null. */
  bodyText: string | null = null;
  readonly model: string;
  readonly stream: boolean;
  /** Whether the client asked for `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  readonly route: CompiledRoute;
  /** Prompt tokens estimated from the body (admission, cost routing), once per request. */
  readonly estimatedPromptTokens: number;
  readonly declaredCompletionTokens: number | null;

  // Each group below is one step's result: written by that step alone (its view type says
  // so: AdmissionContext, CacheView, DispatchView), read by the steps after it and, once the
  // request ends, by its frozen summary (summary.ts).

  // The edge, before the chain: what the request brings beyond its body.
  /** The client's request headers. */
  headers: IncomingHttpHeaders = {};
  region: string | null = null;
  /** What the client asked for in `x-sluice-priority`, if anything. */
  requestedPriority: number | null = null;
  /** The client's request in its own schema, for targets that speak it (pass-through, issue 18); null when none would. */
  native: NativeRequest | null = null;

  // identify (the guard, before the chain).
  /** Who the request is for. */
  principal: Principal = ANONYMOUS;
  /** The batch this request is a line of (issue 21), or null: its usage record says so. */
  batchId: string | null = null;

  // admit (AdmissionContext).
  /** Admission priority (higher first): the tier's, or the client's where allowed. */
  priority = 0;
  /** What admission took, to be made good when the request ends. */
  settlement: Settlement | null = null;
  /** Extra headers for the answer (rate limit state, cache status …): admit and cache add to them. */
  responseHeaders: Record<string, string> | null = null;

  // cache (CacheView).
  /** What the response cache did, when the route caches. */
  cacheResult: CacheResult | null = null;

  // dispatch (DispatchView); the cache stage also answers with a `response` of its own.
  /** The target that answered, or was tried last. */
  target: CompiledTarget | null = null;
  response: ProviderResponse | null = null;
  /** Retries made (attempts after the first, across fallbacks). */
  retries = 0;
  /** The fallback model that answered, when the route's own targets did not. */
  fallbackModel: string | null = null;
  /** Time spent waiting in an admission queue, in milliseconds. */
  queueWaitMs = 0;
  /** Milliseconds from sending the answering upstream attempt to its response headers; -1 when none answered. */
  upstreamMs = -1;
  /** Upstream attempts in order, recorded by dispatch only when tracing is on; null until the first. */
  attempts: UpstreamAttempt[] | null = null;

  // respond: the answer as the client got it.
  usage: Usage | null = null;
  /** HTTP status sent to the client (200 for a stream that later failed). */
  status = 0;
  /** Catalog code of the error the client saw, if any. */
  errorCode: ErrorCode | null = null;
  /** Monotonic milliseconds when the first byte went to the client; -1 until then. */
  firstByteAt = -1;
  /** Monotonic milliseconds when the exchange ended; -1 until then. */
  endedAt = -1;
  /** True when the client went away before the answer was complete. */
  clientGone = false;

  #deadline: { clock: Clock; timer: TimerHandle } | null = null;

  constructor(id: string, endpoint: Endpoint, body: JsonObject, route: CompiledRoute, startedAt: number) {
    this.id = id;
    this.endpoint = endpoint;
    this.startedAt = startedAt;
    this.controller = new Cancellation();
    this.body = body;
    this.model = body.model as string;
    this.stream = body.stream === true;
    const so = body.stream_options as { include_usage?: unknown } | undefined;
    this.includeUsage = this.stream && so?.include_usage === true;
    this.route = route;
    this.estimatedPromptTokens = estimatePromptTokens(endpoint, body);
    this.declaredCompletionTokens = endpoint === 'embeddings' ? 0 : declaredCompletionTokens(body);
  }

  /** Aborts the whole exchange, stream included, after `ms` (the route's total timeout). */
  armDeadline(clock: Clock, ms: number): void {
    this.disarmDeadline();
    const timer = clock.setTimer(() => {
      this.controller.abort(new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT', { message: `The request exceeded the route's total timeout of ${ms} ms.` }));
    }, ms);
    this.#deadline = { clock, timer };
  }

  disarmDeadline(): void {
    if (this.#deadline !== null) this.#deadline.clock.clearTimer(this.#deadline.timer);
    this.#deadline = null;
  }

  /** Records one upstream attempt (dispatch, when tracing is on). */
  recordAttempt(target: CompiledTarget, startedAt: number, endedAt: number, error: SluiceError | null): void {
    const attempt: UpstreamAttempt = Object.freeze({ target, startedAt, endedAt, error });
    if (this.attempts === null) this.attempts = [attempt];
    else this.attempts.push(attempt);
  }

  /** The catalog error behind an abort that was not the client leaving, else null. */
  abortedError(): SluiceError | null {
    if (this.clientGone || !this.controller.aborted) return null;
    const reason: unknown = this.controller.reason;
    return reason instanceof SluiceError ? reason : null;
  }
}

/**
 * A stage's view of the exchange: every field readable, only the stage's own result
 * writable. Stages take the whole context (to hand it to `next`) and work through their view,
 * so a write to another stage's result does not compile.
 */
export type StageView<W extends keyof RequestContext> = Omit<Readonly<RequestContext>, W> & Pick<RequestContext, W>;

/** The cache stage's view: it marks what it did and may answer in dispatch's place. */
export type CacheView = StageView<'cacheResult' | 'response' | 'responseHeaders'>;

/** Dispatch's view: which target answered, how, after how many retries and how long a wait. */
export type DispatchView = StageView<'target' | 'response' | 'retries' | 'fallbackModel' | 'queueWaitMs' | 'upstreamMs'>;
