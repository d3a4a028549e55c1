import type { Clock, TimerHandle } from '../lib/clock.js';
import { BinaryHeap, type HeapItem } from './heap.js';
import { RollingCounter } from './window.js';
import type { CancelSignal } from '../lib/cancel.js';

export type CapacityErrorReason = 'queue_full' | 'deadline';

/** Why `CapacityGate.acquire` gave up (an abort rejects with the signal's reason instead). */
export class CapacityError extends Error {
  readonly reason: CapacityErrorReason;

  constructor(reason: CapacityErrorReason) {
    super(reason === 'queue_full' ? 'the admission queue is full' : 'no capacity before the deadline');
    this.name = 'CapacityError';
    this.reason = reason;
  }
}

export interface CapacityOptions {
  /** Requests in flight at once; Infinity = no cap. */
  maxConcurrent: number;
  /** Waiters allowed in the queue; 0 = never wait. */
  maxQueue: number;
  /** Provider's requests per rolling minute. */
  rpm?: number | undefined;
  /** Provider's tokens per rolling minute. */
  tpm?: number | undefined;
}

interface Waiter extends HeapItem {
  readonly priority: number;
  readonly seq: number;
  readonly tokens: number;
  readonly enqueuedAt: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: CancelSignal;
  readonly onAbort: () => void;
  deadline: TimerHandle | null;
}

const MINUTE_MS = 60_000;
/** 12 buckets of 5 s: an admission is held for 60 to 65 s (see RollingCounter). */
const MINUTE_BUCKETS = 12;
/** Node timers fire at once beyond this; a longer deadline is treated as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Admission to one saturated target: a concurrency cap and the provider's rolling-minute
 * request and token limits, with a bounded priority queue in front.
 *
 * Rate accuracy: the minute windows are 12 buckets of 5 s and hold each admission for 60 to
 * 65 s, so the gate never admits more than `rpm`/`tpm` in any 60 s span (it cannot overrun a
 * provider's rolling or token-bucket limit), and may under-use the limit by up to 5 s' worth.
 * Tokens are counted when admitted, on the caller's estimate; `release` corrects them.
 *
 * Queue order: higher priority first, FIFO within a priority. Only the head of the queue is
 * admitted: a waiter that does not fit (a large token estimate while the token window is
 * nearly full) holds back the ones behind it rather than being starved by smaller requests,
 * and `tryAcquire` fails while anyone waits. An arrival with a higher priority than the head
 * goes first when it fits. A request estimated above `tpm` could never fit; it is admitted
 * when the token window is empty (the provider decides), not left to wait forever.
 *
 * Wake-ups: `release` wakes the head when it fits; when only a rate window blocks it, one
 * timer on the clock fires when the window will have room, and is cleared when no one waits.
 */
export class CapacityGate {
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #rpm: number | null;
  readonly #tpm: number | null;
  readonly #clock: Clock;
  readonly #requests: RollingCounter | null;
  readonly #tokens: RollingCounter | null;
  readonly #queue: BinaryHeap<Waiter>;
  #inFlight: number;
  /** Sum of the token estimates of the requests in flight, for a release without `admittedTokens`. */
  #admittedTokens: number;
  #seq: number;
  #timer: TimerHandle | null;
  #timerAt: number;
  #waitCount: number;
  #waitTotalMs: number;

  constructor(options: CapacityOptions, clock: Clock) {
    const { maxConcurrent, maxQueue, rpm, tpm } = options;
    if (!(maxConcurrent === Number.POSITIVE_INFINITY || (Number.isInteger(maxConcurrent) && maxConcurrent >= 1))) {
      throw new RangeError(`maxConcurrent must be a positive integer or Infinity, got ${maxConcurrent}`);
    }
    if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) throw new RangeError(`maxQueue must be a non-negative integer, got ${maxQueue}`);
    if (rpm !== undefined && !(Number.isFinite(rpm) && rpm >= 1)) throw new RangeError(`rpm must be a finite number >= 1, got ${rpm}`);
    if (tpm !== undefined && !(Number.isFinite(tpm) && tpm >= 1)) throw new RangeError(`tpm must be a finite number >= 1, got ${tpm}`);
    this.#maxConcurrent = maxConcurrent;
    this.#maxQueue = maxQueue;
    this.#rpm = rpm ?? null;
    this.#tpm = tpm ?? null;
    this.#clock = clock;
    this.#requests = rpm === undefined ? null : new RollingCounter(MINUTE_MS, MINUTE_BUCKETS);
    this.#tokens = tpm === undefined ? null : new RollingCounter(MINUTE_MS, MINUTE_BUCKETS);
    this.#queue = new BinaryHeap<Waiter>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq));
    this.#inFlight = 0;
    this.#admittedTokens = 0;
    this.#seq = 0;
    this.#timer = null;
    this.#timerAt = 0;
    this.#waitCount = 0;
    this.#waitTotalMs = 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Takes a slot now if one is free and no one is queued; `tokens` is the estimate. */
  tryAcquire(tokens: number): boolean {
    checkTokens(tokens);
    if (this.#queue.size > 0 || !this.#fits(tokens)) return false;
    this.#admit(tokens);
    return true;
  }

  /**
   * Waits for a slot. Rejects with CapacityError('queue_full') at once when `maxQueue` are
   * already waiting, CapacityError('deadline') after `deadlineMs` (relative; <= 0 means do not
   * wait), and the signal's reason on abort. A rejected waiter has left the queue.
   */
  acquire(tokens: number, priority: number, deadlineMs: number, signal: CancelSignal): Promise<void> {
    try {
      checkTokens(tokens);
      if (!Number.isFinite(priority)) throw new RangeError(`priority must be a finite number, got ${priority}`);
      if (Number.isNaN(deadlineMs)) throw new RangeError('deadlineMs must be a number');
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const head = this.#queue.peek();
    if ((head === undefined || priority > head.priority) && this.#fits(tokens)) {
      this.#admit(tokens);
      this.#waitCount++;
      return Promise.resolve();
    }
    if (this.#queue.size >= this.#maxQueue) return Promise.reject(new CapacityError('queue_full'));
    if (deadlineMs <= 0) return Promise.reject(new CapacityError('deadline'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        heapIndex: -1,
        priority,
        seq: this.#seq++,
        tokens,
        enqueuedAt: this.#clock.monotonic(),
        resolve,
        reject,
        signal,
        onAbort: () => this.#leave(waiter, signal.reason),
        deadline: null,
      };
      if (deadlineMs <= MAX_TIMER_MS) waiter.deadline = this.#clock.setTimer(() => this.#leave(waiter, new CapacityError('deadline')), deadlineMs);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#drain();
    });
  }

  /**
   * Gives a slot back and admits the queue's head if it now fits. With `actualTokens` the token
   * window is corrected by `actualTokens - admittedTokens`: an excess is counted now, a refund
   * comes off the oldest buckets (never from ones newer than the admission, so the window can
   * only over-count; a refund for a request that outlived the window is an exception and may
   * briefly under-count). Without `admittedTokens`, the mean estimate of the requests in
   * flight is used, which is exact when one is in flight or all were estimated alike.
   * A release with nothing in flight is ignored.
   */
  release(actualTokens?: number, admittedTokens?: number): void {
    if (this.#inFlight === 0) return;
    const admitted = admittedTokens ?? this.#admittedTokens / this.#inFlight;
    this.#inFlight--;
    this.#admittedTokens = this.#inFlight === 0 ? 0 : Math.max(0, this.#admittedTokens - admitted);
    if (actualTokens !== undefined && this.#tokens !== null && Number.isFinite(actualTokens)) {
      const now = this.#clock.monotonic();
      const delta = Math.max(0, actualTokens) - admitted;
      if (delta > 0) this.#tokens.add(now, delta);
      else if (delta < 0) this.#tokens.subtractOldest(now, -delta);
    }
    this.#drain();
  }

  /**
   * Undoes an admission whose request was never sent (say, its breaker refused it): frees the
   * slot and takes back its request and its `admittedTokens` from the rate windows.
   */
  cancel(admittedTokens: number): void {
    if (this.#inFlight === 0) return;
    const now = this.#clock.monotonic();
    this.#requests?.subtractOldest(now, 1);
    this.release(0, admittedTokens);
  }

  /** Admissions through `acquire` (immediate ones too) and their total time in the queue. */
  waitStats(): { count: number; totalWaitMs: number } {
    return { count: this.#waitCount, totalWaitMs: this.#waitTotalMs };
  }

  #fits(tokens: number): boolean {
    return this.#inFlight < this.#maxConcurrent && this.#rateDelay(tokens) === 0;
  }

  /** Milliseconds until both rate windows have room for one request of `tokens`. */
  #rateDelay(tokens: number): number {
    const now = this.#clock.monotonic();
    let ms = 0;
    if (this.#requests !== null) ms = this.#requests.msUntilAtMost(now, this.#rpm! - 1);
    if (this.#tokens !== null) {
      const tpm = this.#tpm!;
      ms = Math.max(ms, this.#tokens.msUntilAtMost(now, tokens > tpm ? 0 : tpm - tokens));
    }
    return ms;
  }

  #admit(tokens: number): void {
    const now = this.#clock.monotonic();
    this.#inFlight++;
    this.#admittedTokens += tokens;
    this.#requests?.add(now, 1);
    this.#tokens?.add(now, tokens);
  }

  /** Removes a waiter that gave up (deadline or abort) and lets the next one in if it fits. */
  #leave(waiter: Waiter, reason: unknown): void {
    if (!this.#queue.remove(waiter)) return;
    this.#settle(waiter);
    waiter.reject(reason);
    this.#drain();
  }

  #settle(waiter: Waiter): void {
    if (waiter.deadline !== null) this.#clock.clearTimer(waiter.deadline);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
  }

  /** Admits queue heads while they fit, then arms or clears the rate timer. */
  #drain(): void {
    for (let head = this.#queue.peek(); head !== undefined && this.#fits(head.tokens); head = this.#queue.peek()) {
      this.#queue.pop();
      this.#settle(head);
      this.#admit(head.tokens);
      this.#waitCount++;
      this.#waitTotalMs += this.#clock.monotonic() - head.enqueuedAt;
      head.resolve();
    }
    this.#schedule();
  }

  /**
   * A head blocked by concurrency is woken by `release`; one blocked only by a rate window is
   * woken by the timer, armed for when the window will have room.
   */
  #schedule(): void {
    const head = this.#queue.peek();
    const wait = head !== undefined && this.#inFlight < this.#maxConcurrent ? this.#rateDelay(head.tokens) : 0;
    if (wait <= 0) {
      this.#clearTimer();
      return;
    }
    const at = this.#clock.monotonic() + Math.ceil(wait);
    if (this.#timer !== null && this.#timerAt === at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#drain();
    }, Math.ceil(wait));
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }
}

function checkTokens(tokens: number): void {
  if (!(Number.isFinite(tokens) && tokens >= 0)) throw new RangeError(`tokens must be a non-negative finite number, got ${tokens}`);
}
