import type { CompiledInstance, CompiledService } from '../config/services.js';
import { hashSecret } from '../lib/hash.js';
import type { Clock } from '../lib/clock.js';
import { CircuitBreaker } from '../routing/breaker.js';
import { PeakEwma } from '../routing/ewma.js';
import { HealthChecker } from '../routing/health.js';
import type { Candidate } from '../routing/strategies.js';

/** Latency memory of the `latency` strategy, as for model targets. */
const LATENCY_DECAY_MS = 10_000;
/** Outlier ejection counts failures over this window (it only matters with a failure ratio of 1). */
const OUTLIER_WINDOW_MS = 10_000;

export interface InstanceTransition {
  readonly service: string;
  readonly instance: string;
  /** `ejected` / `readmitted` (outlier ejection), `unhealthy` / `healthy` (active checks). */
  readonly event: 'ejected' | 'readmitted' | 'unhealthy' | 'healthy';
  readonly reason: string;
}

/**
 * One upstream instance of a service: in-flight count and latency (what strategies read),
 * its active health check and its passive outlier ejection. Ejection is the circuit breaker
 * with a failure ratio of 1: `consecutiveFailures` failures in a row take the instance out for
 * `ejectionTime`, then one request probes it (half-open) — Envoy's consecutive-5xx detection.
 */
export class InstanceState implements Candidate {
  readonly index: number;
  readonly config: CompiledInstance;
  /** Opaque id for sticky cookies: does not reveal the instance's address. */
  readonly id: string;
  readonly weight: number;
  readonly region = null;
  readonly price = null;
  readonly health: HealthChecker | null;
  readonly outlier: CircuitBreaker | null;
  inFlight = 0;
  readonly #ewma: PeakEwma;

  constructor(index: number, service: CompiledService, clock: Clock, probe: ((signal: AbortSignal) => Promise<void>) | null, onTransition: (t: InstanceTransition) => void) {
    this.index = index;
    this.config = service.instances[index]!;
    this.id = hashSecret(`${service.name} ${this.config.url}`).slice(0, 16);
    this.weight = this.config.weight;
    const label = { service: service.name, instance: this.config.url };
    const h = service.healthCheck;
    this.health =
      h === null || probe === null
        ? null
        : new HealthChecker(this.config.url, h, probe, clock, (t) => onTransition({ ...label, event: t.healthy ? 'healthy' : 'unhealthy', reason: t.reason }));
    const o = service.outlier;
    this.outlier =
      o === null
        ? null
        : new CircuitBreaker(
            { failureRatio: 1, minRequests: o.consecutiveFailures, windowMs: OUTLIER_WINDOW_MS, consecutiveFailures: o.consecutiveFailures, openMs: o.ejectionMs, halfOpenProbes: 1 },
            clock,
            (t) => {
              if (t.to === 'open') onTransition({ ...label, event: 'ejected', reason: t.reason });
              else if (t.to === 'closed') onTransition({ ...label, event: 'readmitted', reason: t.reason });
            },
          );
    this.#ewma = new PeakEwma(LATENCY_DECAY_MS, clock);
  }

  get latency(): number {
    return this.#ewma.value();
  }

  /** In rotation: not failing its health check and not ejected. */
  get available(): boolean {
    return this.health?.healthy !== false && this.outlier?.state !== 'open';
  }

  /** Starts an attempt; null when the instance is half-open and its probe slot is taken. */
  begin(): InstanceAttempt | null {
    if (this.outlier !== null && !this.outlier.tryAcquire()) return null;
    this.inFlight++;
    return new InstanceAttempt(this, this.outlier?.epoch ?? 0);
  }

  /** @internal via InstanceAttempt.finish */
  settle(epoch: number, verdict: 'success' | 'failure' | 'neutral', latencyMs: number): void {
    this.inFlight--;
    if (verdict === 'success') this.#ewma.observe(latencyMs);
    if (this.outlier === null) return;
    if (verdict === 'success') this.outlier.onSuccess(epoch);
    else if (verdict === 'failure') this.outlier.onFailure(epoch);
    else this.outlier.onNeutral(epoch);
  }
}

/** One attempt's hold on an instance, settled exactly once. */
export class InstanceAttempt {
  readonly instance: InstanceState;
  readonly #epoch: number;
  #settled = false;

  constructor(instance: InstanceState, epoch: number) {
    this.instance = instance;
    this.#epoch = epoch;
  }

  finish(verdict: 'success' | 'failure' | 'neutral', latencyMs = 0): void {
    if (this.#settled) return;
    this.#settled = true;
    this.instance.settle(this.#epoch, verdict, latencyMs);
  }
}
