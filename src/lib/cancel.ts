/** An abort listener: a function, or an object with `handleEvent` (no closure needed). */
export type AbortListener = (() => void) | { handleEvent(): void };

/**
 * What request code reads of a cancellation. An `AbortSignal` has this shape, so a function
 * that takes a CancelSignal takes either.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/**
 * A request's cancellation: an AbortController without the cost. Node's AbortController
 * builds an EventTarget and an AbortSignal per request, which took about 14 µs of each proxied
 * request's CPU (4-5 %) in the gateway's profile (issue #7), nearly always for nothing. This
 * keeps a plain list of listeners and creates a real AbortSignal only when something asks
 * for `signal` (an API that needs one: undici's request(), events.once).
 *
 * Listeners run synchronously in `abort()`, in the order they were added, once each, as
 * AbortSignal's do.
 */
export class Cancellation implements CancelSignal {
  #aborted = false;
  #reason: unknown = undefined;
  #listeners: AbortListener[] | null = null;
  #controller: AbortController | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A real AbortSignal that aborts with this, created on first use. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) {
      for (const l of listeners) {
        if (typeof l === 'function') l();
        else l.handleEvent();
      }
    }
    this.#controller?.abort(reason);
  }

  /** Adds `listener` unless it is already there; every listener runs once (`once` changes nothing). */
  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.#aborted) return;
    this.#listeners ??= [];
    if (!this.#listeners.includes(listener)) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.#listeners === null) return;
    const i = this.#listeners.indexOf(listener);
    if (i !== -1) this.#listeners.splice(i, 1);
  }
}

/** The AbortSignal for APIs that need a real one. */
export function abortSignalOf(signal: CancelSignal): AbortSignal {
  return signal instanceof Cancellation ? signal.signal : (signal as AbortSignal);
}

/**
 * The signal to hand undici's request(): the Cancellation itself, no AbortController built.
 * undici takes any EventTarget-like signal (it reads `aborted` and `reason` and calls
 * `addEventListener('abort', …)` / `removeEventListener`: lib/core/util.js addAbortListener,
 * lib/api/api-request.js), which a CancelSignal is; its types name only AbortSignal.
 */
export function undiciSignal(signal: CancelSignal): AbortSignal {
  return signal as unknown as AbortSignal;
}
