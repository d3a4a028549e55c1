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
  /**
   * The share (0 < share <= 1) of each of the limits above that batch lines may take (issue 21,
   * `batches.share`), so interactive requests keep the rest; at least one request and one
   * request per minute. 1 (the default): batch lines compete for all of it.
   */
  batchShare?: number | undefined;
}

interface Waiter extends HeapItem {
  readonly priority: number;
  readonly seq: number;
  readonly tokens: number;
  /** A batch line: admitted within the batch share. */
  readonly batch: boolean;
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
  /** The batch share of the limits (Infinity / null: no cap of their own) and what batch lines hold of them. */
  readonly #batchMax: number;
  readonly #batchRpm: number | null;
  readonly #batchTpm: number | null;
  readonly #batchRequests: RollingCounter | null;
  readonly #batchTokens: RollingCounter | null;
  #batchInFlight: number;
  #batchAdmittedTokens: number;
  #waitCount: number;
  #waitTotalMs: number;

  constructor(options: CapacityOptions, clock: Clock) {
    const { maxConcurrent, maxQueue, rpm, tpm, batchShare = 1 } = options;
    if (!(batchShare > 0 && batchShare <= 1)) throw new RangeError(`batchShare must be in (0, 1], got ${batchShare}`);
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
    const shared = batchShare < 1;
    this.#batchMax = shared && maxConcurrent !== Number.POSITIVE_INFINITY ? Math.max(1, Math.floor(maxConcurrent * batchShare)) : Number.POSITIVE_INFINITY;
    this.#batchRpm = shared && rpm !== undefined ? Math.max(1, Math.floor(rpm * batchShare)) : null;
    this.#batchTpm = shared && tpm !== undefined ? Math.max(1, Math.floor(tpm * batchShare)) : null;
    this.#batchRequests = this.#batchRpm === null ? null : new RollingCounter(MINUTE_MS, MINUTE_BUCKETS);
    this.#batchTokens = this.#batchTpm === null ? null : new RollingCounter(MINUTE_MS, MINUTE_BUCKETS);
    this.#batchInFlight = 0;
    this.#batchAdmittedTokens = 0;
  }

  /** Batch lines in flight. */
  get batchInFlight(): number {
    return this.#batchInFlight;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Takes a slot now if one is free and no one is queued; `tokens` is the estimate; `batch` for a batch line. */
  tryAcquire(tokens: number, batch = false): boolean {
    checkTokens(tokens);
    if (this.#queue.size > 0 || !this.#fits(tokens, batch)) return false;
    this.#admit(tokens, batch);
    return true;
  }

  /**
   * Waits for a slot. Rejects with CapacityError('queue_full') at once when `maxQueue` are
   * already waiting, CapacityError('deadline') after `deadlineMs` (relative; <= 0 means do not
   * wait), and the signal's reason on abort. A rejected waiter has left the queue.
   */
  acquire(tokens: number, priority: number, deadlineMs: number, signal: CancelSignal, batch = false): Promise<void> {
    try {
      checkTokens(tokens);
      if (!Number.isFinite(priority)) throw new RangeError(`priority must be a finite number, got ${priority}`);
      if (Number.isNaN(deadlineMs)) throw new RangeError('deadlineMs must be a number');
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const head = this.#queue.peek();
    if ((head === undefined || priority > head.priority) && this.#fits(tokens, batch)) {
      this.#admit(tokens, batch);
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
        batch,
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
  release(actualTokens?: number, admittedTokens?: number, batch = false): void {
    if (this.#inFlight === 0) return;
    const admitted = admittedTokens ?? this.#admittedTokens / this.#inFlight;
    this.#inFlight--;
    this.#admittedTokens = this.#inFlight === 0 ? 0 : Math.max(0, this.#admittedTokens - admitted);
    correct(this.#tokens, this.#clock, actualTokens, admitted);
    if (batch && this.#batchInFlight > 0) {
      const batchAdmitted = admittedTokens ?? this.#batchAdmittedTokens / this.#batchInFlight;
      this.#batchInFlight--;
      this.#batchAdmittedTokens = this.#batchInFlight === 0 ? 0 : Math.max(0, this.#batchAdmittedTokens - batchAdmitted);
      correct(this.#batchTokens, this.#clock, actualTokens, batchAdmitted);
    }
    this.#drain();
  }

  /**
   * Undoes an admission whose request was never sent (say, its breaker refused it): frees the
   * slot and takes back its request and its `admittedTokens` from the rate windows.
   */
  cancel(admittedTokens: number, batch = false): void {
    if (this.#inFlight === 0) return;
    const now = this.#clock.monotonic();
    this.#requests?.subtractOldest(now, 1);
    if (batch) this.#batchRequests?.subtractOldest(now, 1);
    this.release(0, admittedTokens, batch);
  }

  /** Admissions through `acquire` (immediate ones too) and their total time in the queue. */
  waitStats(): { count: number; totalWaitMs: number } {
    return { count: this.#waitCount, totalWaitMs: this.#waitTotalMs };
  }

  #fits(tokens: number, batch: boolean): boolean {
    return this.#inFlight < this.#maxConcurrent && (!batch || this.#batchInFlight < this.#batchMax) && this.#rateDelay(tokens, batch) === 0;
  }

  /** Milliseconds until both rate windows (and, for a batch line, the batch share of them) have room for one request of `tokens`. */
  #rateDelay(tokens: number, batch: boolean): number {
    const now = this.#clock.monotonic();
    let ms = 0;
    if (this.#requests !== null) ms = this.#requests.msUntilAtMost(now, this.#rpm! - 1);
    if (this.#tokens !== null) ms = Math.max(ms, this.#tokens.msUntilAtMost(now, room(this.#tpm!, tokens)));
    if (batch) {
      if (this.#batchRequests !== null) ms = Math.max(ms, this.#batchRequests.msUntilAtMost(now, this.#batchRpm! - 1));
      if (this.#batchTokens !== null) ms = Math.max(ms, this.#batchTokens.msUntilAtMost(now, room(this.#batchTpm!, tokens)));
    }
    return ms;
  }

  #admit(tokens: number, batch: boolean): void {
    const now = this.#clock.monotonic();
    this.#inFlight++;
    this.#admittedTokens += tokens;
    this.#requests?.add(now, 1);
    this.#tokens?.add(now, tokens);
    if (!batch) return;
    this.#batchInFlight++;
    this.#batchAdmittedTokens += tokens;
    this.#batchRequests?.add(now, 1);
    this.#batchTokens?.add(now, tokens);
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
    for (let head = this.#queue.peek(); head !== undefined && this.#fits(head.tokens, head.batch); head = this.#queue.peek()) {
      this.#queue.pop();
      this.#settle(head);
      this.#admit(head.tokens, head.batch);
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
    // A batch line at its share of concurrency is woken by a release, like any head at the cap.
    const free = head !== undefined && this.#inFlight < this.#maxConcurrent && (!head.batch || this.#batchInFlight < this.#batchMax);
    const wait = free ? this.#rateDelay(head.tokens, head.batch) : 0;
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

/** How full a token window may be for a request of `tokens` to fit (one above the limit fits an empty window). */
function room(limit: number, tokens: number): number {
  return tokens > limit ? 0 : limit - tokens;
}

/** Corrects a token window by what a request used against what it was admitted with. */
function correct(window: RollingCounter | null, clock: Clock, actualTokens: number | undefined, admitted: number): void {
  if (actualTokens === undefined || window === null || !Number.isFinite(actualTokens)) return;
  const now = clock.monotonic();
  const delta = Math.max(0, actualTokens) - admitted;
  if (delta > 0) window.add(now, delta);
  else if (delta < 0) window.subtractOldest(now, -delta);
}
