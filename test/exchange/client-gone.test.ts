import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { Cancellation } from '../../src/lib/cancel.js';
import { cancelWhenClientLeaves } from '../../src/exchange/client-gone.js';

function context(): { clientGone: boolean; controller: Cancellation } {
  return { clientGone: false, controller: new Cancellation() };
}

test('a response that closes before it finished marks the client gone and aborts', () => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  const ctx = context();
  cancelWhenClientLeaves(res, ctx);
  assert.equal(ctx.clientGone, false);
  res.destroy();
  res.emit('close');
  assert.equal(ctx.clientGone, true);
  assert.equal(ctx.controller.aborted, true);
});

test('a client already gone when the request reaches the pipeline is cancelled at once (its close event has passed)', () => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  res.destroy();
  const ctx = context();
  cancelWhenClientLeaves(res, ctx);
  assert.equal(ctx.clientGone, true);
  assert.equal(ctx.controller.aborted, true);
});
