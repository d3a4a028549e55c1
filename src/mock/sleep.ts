import type { CancelSignal } from '../lib/cancel.js';
/**
 * An abortable sleep that never rejects: it resolves `true` after `ms`, or `false` as soon as
 * `signal` aborts, and clears its timer either way so an abandoned stream leaves nothing behind.
 */
export function sleep(ms: number, signal: CancelSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Paces items at `perSecond` from a fixed start, so timer lateness does not accumulate over a
 * long stream. Resolves false if aborted while waiting. 0 means no pacing.
 */
export class Pacer {
  private readonly start = performance.now();
  private readonly intervalMs: number;

  constructor(perSecond: number) {
    this.intervalMs = perSecond > 0 ? 1000 / perSecond : 0;
  }

  /** Waits until item `index` is due (item 0 is due at once). */
  wait(index: number, signal: CancelSignal): Promise<boolean> {
    if (this.intervalMs === 0) return Promise.resolve(!signal.aborted);
    return sleep(this.start + index * this.intervalMs - performance.now(), signal);
  }
}
