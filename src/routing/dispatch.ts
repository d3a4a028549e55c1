import { SluiceError, toSluiceError } from '../errors.js';
import { delay, type Clock } from '../lib/clock.js';
import type { Redactor } from '../lib/redactor.js';
import { redactError } from '../upstream/errors.js';
import type { Next, Stage } from '../exchange/compose.js';
import type { DispatchView, RequestContext } from '../exchange/context.js';
import type { JsonObject, ProviderResponse } from '../providers/types.js';
import { declaredMaxTokens } from '../tokens/estimate.js';
import { CapacityError } from './capacity.js';
import { isRetryable, retryAfterOf, verdictOf } from './outcome.js';
import { backoffMs, parseRetryAfter } from './retry.js';
import type { RouteRuntime } from './route-runtime.js';
import { Admission, type TargetState } from './target-state.js';
import { TrackedStream } from './tracked-stream.js';

/** Completion tokens assumed by cost routing when a request sets no max_tokens. */
const DEFAULT_EXPECTED_COMPLETION = 256;

/** What one request needs while its route is tried. */
interface RouteTry {
  readonly rt: RouteRuntime;
  readonly body: JsonObject;
  readonly promptTokens: number;
  readonly maxTokens: number;
}

/**
 * The terminal stage: tries the route's targets and then its fallbacks until one answers.
 * A target is chosen by the route's strategy among those in rotation; failures before the
 * first byte are retried (with backoff, within the retry budget, honouring Retry-After);
 * once the route is out of options the fallback chain is tried in order. Nothing is retried
 * after the first byte reached the client.
 */
export class DispatchStage implements Stage {
  readonly name = 'dispatch';
  readonly #rt: RouteRuntime;
  readonly #fallbacks: (model: string) => RouteRuntime | null;
  readonly #clock: Clock;
  readonly #redactor: Redactor;
  readonly #random: () => number;
  /** Whether each upstream attempt is kept on the request for its summary (tracing is on). */
  readonly #recordAttempts: boolean;

  constructor(rt: RouteRuntime, fallbacks: (model: string) => RouteRuntime | null, clock: Clock, redactor: Redactor, random: () => number = Math.random, recordAttempts = false) {
    this.#rt = rt;
    this.#fallbacks = fallbacks;
    this.#clock = clock;
    this.#redactor = redactor;
    this.#random = random;
    this.#recordAttempts = recordAttempts;
  }

  async run(exchange: RequestContext, next: Next): Promise<void> {
    // Dispatch writes only its own result (DispatchView); the whole exchange goes on to `next`.
    const ctx: DispatchView = exchange;
    const route = this.#rt.route;
    if (route.totalTimeoutMs !== null) ctx.armDeadline(this.#clock, route.totalTimeoutMs);
    const promptTokens = ctx.estimatedPromptTokens;
    const maxTokens = declaredMaxTokens(ctx.body, DEFAULT_EXPECTED_COMPLETION);
    let lastError: SluiceError;
    try {
      ctx.response = await this.#tryRoute(ctx, { rt: this.#rt, body: ctx.body, promptTokens, maxTokens });
      return await next(exchange);
    } catch (err) {
      lastError = toSluiceError(err);
    }
    for (const model of route.fallback) {
      if (ctx.clientGone || ctx.controller.aborted) break;
      // An all-down route always falls back; otherwise only on the configured statuses.
      if (lastError.code !== 'SLUICE_ERR_NO_HEALTHY_TARGET' && !route.fallbackOn.has(lastError.status)) break;
      const rt = this.#fallbacks(model);
      if (rt === null) continue;
      try {
        ctx.response = await this.#tryRoute(ctx, { rt, body: { ...ctx.body, model }, promptTokens, maxTokens });
        ctx.fallbackModel = model;
        return await next(exchange);
      } catch (err) {
        lastError = toSluiceError(err);
      }
    }
    throw lastError;
  }

  /** Attempts on one route's targets, retrying as its policy allows. */
  async #tryRoute(ctx: DispatchView, t: RouteTry): Promise<ProviderResponse> {
    const { rt } = t;
    const policy = rt.route.retry;
    rt.budget.recordRequest();
    const tried: TargetState[] = [];
    for (let attempt = 0; ; attempt++) {
      const admission = await this.#choose(ctx, t, tried);
      const target = admission.target;
      try {
        return await this.#attempt(ctx, t, admission);
      } catch (err) {
        const e = ctx.abortedError() ?? toSluiceError(err);
        if (ctx.clientGone || ctx.controller.aborted) throw e;
        tried.push(target);
        const now = this.#clock.monotonic();
        const retryAfter = retryAfterOf(e, this.#clock.now(), parseRetryAfter);
        // A Retry-After too long to wait for takes the target out of rotation until then.
        if (retryAfter !== null && retryAfter > policy.maxRetryAfterMs) target.cooldownUntil = now + retryAfter;
        if (attempt >= policy.attempts || !isRetryable(e, policy) || !rt.budget.tryWithdraw()) throw e;
        let wait = backoffMs(attempt, policy.backoffBaseMs, policy.backoffMaxMs, this.#random);
        // The same target again (no other in rotation): honour its Retry-After.
        const others = rt.targets.some((c) => c !== target && !tried.includes(c) && c.available(now));
        if (!others && retryAfter !== null) {
          if (retryAfter > policy.maxRetryAfterMs) throw e;
          wait = Math.max(wait, retryAfter);
        }
        ctx.retries++;
        await delay(this.#clock, wait, ctx.controller);
      }
    }
  }

  /**
   * Picks a target in rotation with free capacity, preferring ones not tried yet. When every
   * such target is saturated, waits in the strategy's first choice's admission queue. When
   * every one is over its provider limits counted across instances (routing/shared-limits.ts),
   * waits for the first to have room again, within the route's queue timeout; past it, the
   * route answers 503 SLUICE_ERR_QUEUE_TIMEOUT, which moves on to the fallbacks (and a stale
   * answer, where the route keeps one).
   */
  async #choose(ctx: DispatchView, t: RouteTry, tried: readonly TargetState[]): Promise<Admission> {
    const queue = t.rt.route.queue;
    let waited = 0;
    for (;;) {
      const picked = await this.#pick(ctx, t, tried);
      if (picked instanceof Admission) return picked;
      const waitMs = picked.sharedWaitMs;
      if (!Number.isFinite(waitMs) || waited + waitMs > queue.timeoutMs) {
        throw new SluiceError('SLUICE_ERR_QUEUE_TIMEOUT', {
          message: `Every target of route "${t.rt.route.name}" is at its provider limits (targets[].limits) for longer than the queue timeout.`,
          headers: { 'retry-after': String(Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs / 1000)) : 60) },
        });
      }
      await delay(this.#clock, waitMs, ctx.controller);
      waited += waitMs;
      ctx.queueWaitMs += waitMs;
    }
  }

  /** One pass over the candidates: an admission, or how long until a target's shared limits have room. */
  async #pick(ctx: DispatchView, t: RouteTry, tried: readonly TargetState[]): Promise<Admission | { sharedWaitMs: number }> {
    const { rt } = t;
    const now = this.#clock.monotonic();
    let candidates = rt.targets.filter((c) => c.available(now));
    // (Only a retry has tried targets; the first attempt skips the filter's copy.)
    if (tried.length > 0) {
      const fresh = candidates.filter((c) => !tried.includes(c));
      if (fresh.length > 0) candidates = fresh;
    }
    const request = { promptTokens: t.promptTokens, maxTokens: t.maxTokens, region: ctx.region };
    let saturated: TargetState | null = null;
    let sharedWaitMs = Infinity;
    let overShared = false;
    while (candidates.length > 0) {
      const pick = rt.strategy.pick(candidates, request) as TargetState;
      const admission = pick.tryAdmit(t.promptTokens, ctx.batchId !== null);
      if (admission === 'saturated') saturated ??= pick;
      else if (admission !== 'refused') {
        // Most targets have no provider limits: no store round trip, no await.
        if (admission.target.shared === null) return admission;
        const wait = await this.#shared(admission, t);
        if (wait === 0) return admission;
        overShared = true;
        sharedWaitMs = Math.min(sharedWaitMs, wait);
      }
      candidates = candidates.filter((c) => c !== pick);
    }
    if (saturated !== null) {
      const admission = await this.#queue(ctx, t, saturated);
      const wait = await this.#shared(admission, t);
      if (wait === 0) return admission;
      return { sharedWaitMs: Math.min(sharedWaitMs, wait) };
    }
    if (overShared) return { sharedWaitMs };
    throw noTarget(rt, rt.targets.map((c) => c.backInMs(now)));
  }

  /** Takes the attempt from its target's shared limits: 0 when taken, else the wait (the admission is undone). */
  async #shared(admission: Admission, t: RouteTry): Promise<number> {
    const shared = admission.target.shared;
    if (shared === null) return 0;
    const wait = await shared.take(t.promptTokens);
    if (wait !== 0) admission.target.cancel(admission);
    return wait;
  }

  async #queue(ctx: DispatchView, t: RouteTry, target: TargetState): Promise<Admission> {
    const started = this.#clock.monotonic();
    let admission: Admission | null;
    try {
      admission = await target.admitQueued(t.promptTokens, ctx.priority, t.rt.route.queue.timeoutMs, ctx.controller, ctx.batchId !== null);
    } catch (err) {
      // A full queue rejects at once: the request never waited, so it records no wait.
      if (err instanceof CapacityError && err.reason === 'queue_full') throw new SluiceError('SLUICE_ERR_QUEUE_FULL', { headers: { 'retry-after': '1' } });
      ctx.queueWaitMs += this.#clock.monotonic() - started;
      if (err instanceof CapacityError) throw new SluiceError('SLUICE_ERR_QUEUE_TIMEOUT', { headers: { 'retry-after': '1' } });
      throw err;
    }
    ctx.queueWaitMs += this.#clock.monotonic() - started;
    if (admission === null) throw noTarget(t.rt, [target.backInMs(this.#clock.monotonic())]);
    return admission;
  }

  /** One call to one target; the admission is held until the answer is complete. */
  async #attempt(ctx: DispatchView, t: RouteTry, admission: Admission): Promise<ProviderResponse> {
    const target = admission.target;
    ctx.target = target.config;
    const model = target.config.model;
    const body = model === null || model === t.body.model ? t.body : { ...t.body, model };
    const started = this.#clock.monotonic();
    let response: ProviderResponse;
    try {
      // What only a pass-through can carry is refused by a target that needs the translation (issue 18).
      const native = ctx.native;
      if (native !== null && native.refusal !== null && target.adapter.natives?.has(native.schema) !== true) throw native.refusal;
      // Embeddings calls may wait a few milliseconds to share one upstream call (issue 21).
      const sender = target.batcher !== null && ctx.endpoint === 'embeddings' ? target.batcher : target.adapter;
      response = await sender.send({
        endpoint: ctx.endpoint,
        body,
        bodyText: body === ctx.body ? ctx.bodyText : null,
        stream: ctx.stream,
        includeUsage: ctx.includeUsage,
        signal: ctx.controller,
        requestId: ctx.id,
        timeouts: target.config.timeouts,
        // Each adapter decides per attempt whether it speaks the client's schema (issue 18).
        native: ctx.native,
        // For picking an API key whose token quota covers the call (issue 21).
        estimatedTokens: t.promptTokens + t.maxTokens,
      });
    } catch (err) {
      // Every provider error leaves the adapter here: credentials an upstream echoed are
      // scrubbed once, before retries, fallbacks, clients, logs and traces see the error.
      const e = ctx.abortedError() ?? redactError(toSluiceError(err), this.#redactor);
      admission.finish(ctx.clientGone ? 'neutral' : verdictOf(e));
      if (this.#recordAttempts) ctx.recordAttempt(target.config, started, this.#clock.monotonic(), e);
      throw e;
    }
    const upstreamMs = this.#clock.monotonic() - started;
    if (response.kind === 'json') {
      target.observeLatency(upstreamMs);
      ctx.upstreamMs = upstreamMs;
      admission.finish('success', response.usage?.totalTokens);
      if (this.#recordAttempts) ctx.recordAttempt(target.config, started, this.#clock.monotonic(), null);
      return response;
    }
    const tracked = new TrackedStream(response, admission, ctx, this.#redactor);
    try {
      await tracked.prime();
    } catch (err) {
      if (this.#recordAttempts) ctx.recordAttempt(target.config, started, this.#clock.monotonic(), ctx.abortedError() ?? toSluiceError(err));
      throw err;
    }
    // Set only once the stream is primed: an attempt that fails here is retried, not answering.
    ctx.upstreamMs = upstreamMs;
    target.observeLatency(this.#clock.monotonic() - started);
    if (this.#recordAttempts) ctx.recordAttempt(target.config, started, this.#clock.monotonic(), null);
    return tracked;
  }
}

function noTarget(rt: RouteRuntime, backInMs: number[]): SluiceError {
  const backIn = Math.min(...backInMs);
  return new SluiceError('SLUICE_ERR_NO_HEALTHY_TARGET', {
    message: `No target of route "${rt.route.name}" is available.`,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(backIn / 1000))) },
  });
}
