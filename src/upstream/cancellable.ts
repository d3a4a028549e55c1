import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../lib/cancel.js';

/**
 * What every dispatch handler of Sluice's own (requestText, requestAnswer) does with its
 * request's cancel signal: an aborted signal aborts the dispatch before it starts or while it
 * runs, with the signal's reason. The handler is its own abort listener, so there is no closure
 * per request; `unlisten()` once the answer is settled.
 */
export abstract class CancellableHandler {
  protected readonly signal: CancelSignal;
  protected controller: Dispatcher.DispatchController | null = null;
  #listening = false;

  constructor(signal: CancelSignal) {
    this.signal = signal;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) {
      controller.abort(this.signal.reason as Error);
      return;
    }
    if (!this.#listening) {
      this.#listening = true;
      this.signal.addEventListener('abort', this, { once: true });
    }
  }

  /** The signal's abort listener. */
  handleEvent(): void {
    this.controller?.abort(this.signal.reason as Error);
  }

  protected unlisten(): void {
    if (this.#listening) {
      this.#listening = false;
      this.signal.removeEventListener('abort', this);
    }
  }
}
