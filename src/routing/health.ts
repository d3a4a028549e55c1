import type { HealthCheckPolicy } from '../config/compile.js';
import type { Clock, TimerHandle } from '../lib/clock.js';

export interface HealthTransition {
  readonly provider: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/**
 * Active health checking of one provider: a probe every `intervalMs`, each bounded by
 * `timeoutMs`. `unhealthyThreshold` consecutive failures mark it down; `healthyThreshold`
 * consecutive successes bring it back (the thresholds seed 001 configures for its instances).
 * It starts healthy, so a gateway serves at once instead of waiting for a first round.
 */
export class HealthChecker {
  readonly provider: string;
  readonly #policy: HealthCheckPolicy;
  readonly #probe: (signal: AbortSignal) => Promise<void>;
  readonly #clock: Clock;
  readonly #onTransition: (t: HealthTransition) => void;
  #healthy = true;
  #successes = 0;
  #failures = 0;
  #timer: TimerHandle | null = null;
  #running = false;
  #inFlight: AbortController | null = null;

  constructor(provider: string, policy: HealthCheckPolicy, probe: (signal: AbortSignal) => Promise<void>, clock: Clock, onTransition: (t: HealthTransition) => void = () => {}) {
    this.provider = provider;
    this.#policy = policy;
    this.#probe = probe;
    this.#clock = clock;
    this.#onTransition = onTransition;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#inFlight?.abort();
  }

  /** Runs one probe now and records its verdict. Never rejects. */
  async check(): Promise<void> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timer = this.#clock.setTimer(() => controller.abort(new Error(`health probe timed out after ${this.#policy.timeoutMs} ms`)), this.#policy.timeoutMs);
    let error: unknown = null;
    try {
      await this.#probe(controller.signal);
    } catch (err) {
      error = err;
    } finally {
      this.#clock.clearTimer(timer);
      this.#inFlight = null;
    }
    if (!this.#running && controller.signal.aborted) return; // stopped mid-probe
    if (error === null) this.#record(true, 'probe succeeded');
    else this.#record(false, controller.signal.aborted ? String((controller.signal.reason as Error).message) : (error as Error).message ?? String(error));
  }

  #record(ok: boolean, reason: string): void {
    if (ok) {
      this.#successes++;
      this.#failures = 0;
      if (!this.#healthy && this.#successes >= this.#policy.healthyThreshold) this.#transition(true, reason);
    } else {
      this.#failures++;
      this.#successes = 0;
      if (this.#healthy && this.#failures >= this.#policy.unhealthyThreshold) this.#transition(false, reason);
    }
  }

  #transition(healthy: boolean, reason: string): void {
    this.#healthy = healthy;
    this.#onTransition({ provider: this.provider, healthy, reason });
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      void this.check().then(() => {
        if (this.#running) this.#schedule();
      });
    }, this.#policy.intervalMs);
  }
}
