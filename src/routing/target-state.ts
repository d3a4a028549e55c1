import type { BreakerPolicy, CompiledTarget, QueuePolicy } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import type { ProviderAdapter } from '../providers/types.js';
import { CircuitBreaker, type BreakerTransition } from './breaker.js';
import { CapacityGate } from './capacity.js';
import { EmbeddingBatcher } from './embeddings-batcher.js';
import type { EmbeddingBatching } from '../config/batching.js';
import { PeakEwma } from './ewma.js';
import type { HealthChecker } from './health.js';
import type { Candidate } from './strategies.js';
import type { Verdict } from './outcome.js';
import type { CancelSignal } from '../lib/cancel.js';
import type { SharedTargetLimits } from './shared-limits.js';

/** Latency memory of the `latency` strategy: samples older than this weigh little. */
const LATENCY_DECAY_MS = 10_000;

/**
 * The runtime state of one target of one route: in-flight count, latency, circuit breaker,
 * capacity gate, cooldown. What strategies read of it is the `Candidate` view.
 */
export class TargetState implements Candidate {
  readonly index: number;
  readonly config: CompiledTarget;
  readonly adapter: ProviderAdapter;
  /** Label for metrics and logs: `provider/model` (model `*` when passed through). */
  readonly label: string;
  readonly weight: number;
  readonly region: string | null;
  readonly price: { readonly input: number; readonly output: number } | null;
  readonly breaker: CircuitBreaker | null;
  readonly gate: CapacityGate | null;
  readonly health: HealthChecker | null;
  /** The provider limits counted across instances (routing/shared-limits.ts); null without limits. */
  readonly shared: SharedTargetLimits | null;
  /** Combines concurrent embeddings calls to this target (route `batching`, issue 21); null = off. */
  readonly batcher: EmbeddingBatcher | null;
  inFlight = 0;
  /** Monotonic ms before which the target is skipped (a Retry-After too long to wait for). */
  cooldownUntil = 0;
  readonly #ewma: PeakEwma;

  constructor(
    index: number,
    config: CompiledTarget,
    adapter: ProviderAdapter,
    policies: { breaker: BreakerPolicy; queue: QueuePolicy; batching?: EmbeddingBatching | null },
    clock: Clock,
    health: HealthChecker | null,
    onBreakerTransition: (t: BreakerTransition) => void,
    shared: SharedTargetLimits | null = null,
  ) {
    this.shared = shared;
    this.index = index;
    this.config = config;
    this.adapter = adapter;
    this.label = `${config.provider}/${config.model ?? '*'}`;
    this.weight = config.weight;
    this.region = config.region;
    this.price = config.price;
    const b = policies.breaker;
    this.breaker = b.enabled
      ? new CircuitBreaker(
          { failureRatio: b.failureRatio, minRequests: b.minRequests, windowMs: b.windowMs, consecutiveFailures: b.consecutiveFailures, openMs: b.openMs, halfOpenProbes: b.halfOpenProbes },
          clock,
          onBreakerTransition,
        )
      : null;
    const capped = config.maxConcurrent !== Infinity || config.rpm !== null || config.tpm !== null;
    this.gate = capped
      ? new CapacityGate(
          {
            maxConcurrent: config.maxConcurrent,
            maxQueue: policies.queue.maxDepth,
            ...(config.rpm === null ? {} : { rpm: config.rpm }),
            ...(config.tpm === null ? {} : { tpm: config.tpm }),
            batchShare: config.batchShare,
          },
          clock,
        )
      : null;
    this.health = health;
    this.batcher = policies.batching === undefined || policies.batching === null ? null : new EmbeddingBatcher(adapter, policies.batching, clock);
    this.#ewma = new PeakEwma(LATENCY_DECAY_MS, clock);
  }

  get latency(): number {
    return this.#ewma.value();
  }

  /** In rotation: health check passing, not cooling down, breaker not open, some API key not resting (issue 21). */
  available(now: number): boolean {
    return this.health?.healthy !== false && now >= this.cooldownUntil && this.breaker?.state !== 'open' && (this.adapter.keys === undefined || now >= this.adapter.keys.usableAt);
  }

  /** Milliseconds until this target may be back in rotation (0 when it is). */
  backInMs(now: number): number {
    const cooldown = Math.max(0, this.cooldownUntil - now);
    const breaker = this.breaker?.retryAfterMs() ?? 0;
    // An unhealthy provider is back after a passing round of probes; a second is the floor.
    const health = this.health?.healthy === false ? 1_000 : 0;
    const keys = this.adapter.keys === undefined ? 0 : Math.max(0, this.adapter.keys.usableAt - now);
    return Math.max(cooldown, breaker, health, keys);
  }

  /** The time to the first byte of a successful answer. */
  observeLatency(ms: number): void {
    this.#ewma.observe(ms);
  }

  /**
   * Takes a slot for one attempt: capacity first, then the breaker (in half-open, a probe
   * slot). 'saturated' means the caller may queue for capacity; 'refused' that the breaker
   * has no probe slot free.
   */
  tryAdmit(tokens: number, batch = false): Admission | 'saturated' | 'refused' {
    if (this.gate !== null && !this.gate.tryAcquire(tokens, batch)) return 'saturated';
    return this.#admitBreaker(tokens, batch) ?? 'refused';
  }

  /** Queues for capacity, then passes the breaker; null when the breaker refuses. `batch`: a batch line, held to the batch share (issue 21). */
  async admitQueued(tokens: number, priority: number, deadlineMs: number, signal: CancelSignal, batch = false): Promise<Admission | null> {
    await this.gate!.acquire(tokens, priority, deadlineMs, signal, batch);
    return this.#admitBreaker(tokens, batch);
  }

  #admitBreaker(tokens: number, batch: boolean): Admission | null {
    if (this.breaker !== null && !this.breaker.tryAcquire()) {
      this.gate?.cancel(tokens, batch);
      return null;
    }
    this.inFlight++;
    return new Admission(this, tokens, this.breaker?.epoch ?? 0, batch);
  }

  /** Undoes an admission whose attempt was never sent (its shared limits refused it). */
  cancel(admission: Admission): void {
    this.inFlight--;
    this.gate?.cancel(admission.tokens, admission.batch);
    this.breaker?.onNeutral(admission.epoch);
  }

  /** Ends an attempt: frees its slot and tells the breaker what happened. */
  settle(admission: Admission, verdict: Verdict, actualTokens: number | undefined): void {
    this.inFlight--;
    this.gate?.release(actualTokens, admission.tokens, admission.batch);
    this.shared?.correct(admission.tokens, actualTokens);
    if (this.breaker === null) return;
    // The epoch makes an answer that outlived a breaker transition count for nothing.
    if (verdict === 'success') this.breaker.onSuccess(admission.epoch);
    else if (verdict === 'failure') this.breaker.onFailure(admission.epoch);
    else this.breaker.onNeutral(admission.epoch);
  }
}

/** One attempt's hold on a target: its slot, token estimate and breaker epoch. */
export class Admission {
  readonly target: TargetState;
  readonly tokens: number;
  readonly epoch: number;
  /** A batch line's (issue 21): it holds part of the target's batch share. */
  readonly batch: boolean;
  #settled = false;

  constructor(target: TargetState, tokens: number, epoch: number, batch = false) {
    this.target = target;
    this.tokens = tokens;
    this.epoch = epoch;
    this.batch = batch;
  }

  /** Settles the attempt once; later calls do nothing. */
  finish(verdict: Verdict, actualTokens?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.target.settle(this, verdict, actualTokens);
  }
}
