import type { Clock } from '../lib/clock.js';
import { RollingCounter } from './window.js';

export interface BreakerOptions {
  /** 0..1: open when failures/total >= ratio over the rolling window, once total >= minRequests. */
  failureRatio: number;
  minRequests: number;
  /** Rolling window, kept as WINDOW_BUCKETS time buckets (no per-request allocation). */
  windowMs: number;
  /** Also open after this many failures in a row; 0 disables. */
  consecutiveFailures: number;
  /** Stay open this long, then half-open. */
  openMs: number;
  /** Requests allowed through at once while half-open; that many consecutive successes close it. */
  halfOpenProbes: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * `reason` is a stable code, fit for a metric label:
 * - `failure-ratio`, `consecutive-failures` (closed → open),
 * - `open-elapsed` (open → half-open),
 * - `probe-failed` (half-open → open),
 * - `probes-succeeded` (half-open → closed).
 */
export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** `clock.now()` when the transition was made (open → half-open is made lazily, when first observed). */
  at: number;
  reason: string;
}

const WINDOW_BUCKETS = 10;

/**
 * A per-target circuit breaker: closed → open on a failure ratio or a run of failures, open →
 * half-open after `openMs`, half-open → closed after `halfOpenProbes` probe successes or back
 * to open on the first probe failure.
 *
 * Stragglers (requests admitted before the latest transition that report afterwards) must not
 * move the breaker, or a long stream that started before the breaker opened could re-arm the
 * open period, close it, or re-open a half-open breaker. The rules:
 * - while open, every outcome is ignored (nothing was admitted in that state);
 * - while half-open, an outcome counts only while a probe is in flight, and consumes it;
 * - exactly: read `epoch` right after a successful `tryAcquire()` and pass it to
 *   `onSuccess`/`onFailure`/`onNeutral`; an outcome whose epoch is not the current one is
 *   ignored (the epoch changes on every transition). Without the epoch, a straggler that ends
 *   while a half-open probe is in flight is indistinguishable from that probe.
 */
export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #clock: Clock;
  readonly #onTransition: ((t: BreakerTransition) => void) | undefined;
  readonly #failures: RollingCounter;
  readonly #requests: RollingCounter;
  #state: BreakerState;
  #epoch: number;
  #consecutive: number;
  #openedAt: number;
  #probesInFlight: number;
  #probeSuccesses: number;

  constructor(options: BreakerOptions, clock: Clock, onTransition?: (t: BreakerTransition) => void) {
    validate(options);
    this.#options = { ...options };
    this.#clock = clock;
    this.#onTransition = onTransition;
    this.#failures = new RollingCounter(options.windowMs, WINDOW_BUCKETS);
    this.#requests = new RollingCounter(options.windowMs, WINDOW_BUCKETS);
    this.#state = 'closed';
    this.#epoch = 0;
    this.#consecutive = 0;
    this.#openedAt = 0;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
  }

  get state(): BreakerState {
    this.#refresh();
    return this.#state;
  }

  /** Changes on every transition; see the class comment. */
  get epoch(): number {
    this.#refresh();
    return this.#epoch;
  }

  /** May a request be sent now? In half-open a `true` takes a probe slot. */
  tryAcquire(): boolean {
    this.#refresh();
    switch (this.#state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half-open':
        if (this.#probesInFlight >= this.#options.halfOpenProbes) return false;
        this.#probesInFlight++;
        return true;
    }
  }

  onSuccess(epoch?: number): void {
    if (!this.#counts(epoch)) return;
    const now = this.#clock.monotonic();
    if (this.#state === 'closed') {
      this.#consecutive = 0;
      this.#requests.add(now, 1);
      return;
    }
    this.#probesInFlight--;
    this.#probeSuccesses++;
    if (this.#probeSuccesses >= this.#options.halfOpenProbes) this.#close();
  }

  onFailure(epoch?: number): void {
    if (!this.#counts(epoch)) return;
    const now = this.#clock.monotonic();
    if (this.#state === 'half-open') {
      this.#open('probe-failed');
      return;
    }
    this.#consecutive++;
    this.#requests.add(now, 1);
    this.#failures.add(now, 1);
    const { consecutiveFailures, minRequests, failureRatio } = this.#options;
    if (consecutiveFailures > 0 && this.#consecutive >= consecutiveFailures) {
      this.#open('consecutive-failures');
      return;
    }
    const total = this.#requests.total(now);
    if (total >= minRequests && this.#failures.total(now) / total >= failureRatio) this.#open('failure-ratio');
  }

  /** The request ended without a verdict (a 4xx other than 429, the client went away). */
  onNeutral(epoch?: number): void {
    if (!this.#counts(epoch)) return;
    if (this.#state === 'half-open') this.#probesInFlight--;
  }

  /** Milliseconds until half-open while open, else 0. */
  retryAfterMs(): number {
    this.#refresh();
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.#options.openMs - this.#clock.monotonic());
  }

  /** Whether an outcome reported now belongs to the current state (see the class comment). */
  #counts(epoch: number | undefined): boolean {
    this.#refresh();
    if (epoch !== undefined && epoch !== this.#epoch) return false;
    if (this.#state === 'open') return false;
    if (this.#state === 'half-open') return this.#probesInFlight > 0;
    return true;
  }

  #refresh(): void {
    if (this.#state === 'open' && this.#clock.monotonic() - this.#openedAt >= this.#options.openMs) {
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
      this.#transition('half-open', 'open-elapsed');
    }
  }

  #open(reason: string): void {
    this.#openedAt = this.#clock.monotonic();
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#transition('open', reason);
  }

  #close(): void {
    // A fresh start: failures from before the outage must not count against the recovered target.
    this.#failures.reset();
    this.#requests.reset();
    this.#consecutive = 0;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#transition('closed', 'probes-succeeded');
  }

  #transition(to: BreakerState, reason: string): void {
    const from = this.#state;
    this.#state = to;
    this.#epoch++;
    this.#onTransition?.({ from, to, at: this.#clock.now(), reason });
  }
}

function validate(o: BreakerOptions): void {
  if (!(Number.isFinite(o.failureRatio) && o.failureRatio >= 0 && o.failureRatio <= 1)) {
    throw new RangeError(`failureRatio must be a number from 0 to 1, got ${o.failureRatio}`);
  }
  if (!(Number.isInteger(o.minRequests) && o.minRequests >= 1)) throw new RangeError(`minRequests must be a positive integer, got ${o.minRequests}`);
  if (!(Number.isFinite(o.windowMs) && o.windowMs > 0)) throw new RangeError(`windowMs must be a positive finite number, got ${o.windowMs}`);
  if (!(Number.isInteger(o.consecutiveFailures) && o.consecutiveFailures >= 0)) {
    throw new RangeError(`consecutiveFailures must be a non-negative integer, got ${o.consecutiveFailures}`);
  }
  if (!(Number.isFinite(o.openMs) && o.openMs >= 0)) throw new RangeError(`openMs must be a non-negative finite number, got ${o.openMs}`);
  if (!(Number.isInteger(o.halfOpenProbes) && o.halfOpenProbes >= 1)) throw new RangeError(`halfOpenProbes must be a positive integer, got ${o.halfOpenProbes}`);
}
