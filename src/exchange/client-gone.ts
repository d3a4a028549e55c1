import type { ServerResponse } from 'node:http';
import { SluiceError } from '../errors.js';

/** What a request context exposes to be cancelled when its client leaves. */
export interface Cancellable {
  clientGone: boolean;
  readonly controller: { abort(reason: unknown): void };
}

const kContext = Symbol('sluice.context');
type TrackedResponse = ServerResponse & { [kContext]?: Cancellable };

/** Cancels the upstream call when the client goes away before the answer is complete. */
function onResponseClose(this: TrackedResponse): void {
  const ctx = this[kContext];
  if (ctx !== undefined && !this.writableFinished) {
    ctx.clientGone = true;
    ctx.controller.abort(new SluiceError('SLUICE_ERR_CLIENT_CLOSED'));
  }
}

/**
 * Marks `ctx` as abandoned and aborts its controller if `res` closes before it finished. One
 * shared listener function, the context hung on the response: no closure per request.
 */
export function cancelWhenClientLeaves(res: ServerResponse, ctx: Cancellable): void {
  (res as TrackedResponse)[kContext] = ctx;
  // Gone already (while the body was read, or during an async check before this): the 'close'
  // event has passed, so nothing would stop the upstream call, spending tokens for no one.
  if (res.destroyed) {
    onResponseClose.call(res);
    return;
  }
  // 'close' comes once per response: a plain listener, without once()'s wrapper per request.
  res.on('close', onResponseClose);
}
