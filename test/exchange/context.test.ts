import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestContext, type AdmissionContext, type CacheView, type DispatchView } from '../../src/exchange/context.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';
import { compiledRoute } from '../helpers/routes.js';

const route = compiledRoute('r', ['m'], ['m-1']);

// Each stage works through a view of the exchange that lets it write its own result and only
// that. These checks are made by the compiler: a `@ts-expect-error` line that stops being an
// error (a view loosened) fails the build. The functions are never called.

export function dispatchWritesOnlyItsOwn(ctx: DispatchView): void {
  ctx.target = null;
  ctx.retries++;
  ctx.upstreamMs = 1;
  // @ts-expect-error the cache's result
  ctx.cacheResult = 'hit';
  // @ts-expect-error admission's result
  ctx.settlement = null;
  // @ts-expect-error the answer as sent is respond's
  ctx.status = 200;
  // @ts-expect-error who the request is for is identify's
  ctx.principal = ANONYMOUS;
}

export function cacheWritesOnlyItsOwn(ctx: CacheView): void {
  ctx.cacheResult = 'miss';
  ctx.response = null;
  // @ts-expect-error dispatch's result
  ctx.target = null;
  // @ts-expect-error dispatch's result
  ctx.retries = 0;
}

export function admitWritesOnlyItsOwn(ctx: AdmissionContext): void {
  ctx.priority = 1;
  ctx.settlement = null;
  // @ts-expect-error identify's result
  ctx.principal = ANONYMOUS;
  // @ts-expect-error what the client asked for is the edge's
  ctx.requestedPriority = 1;
}

test('a view is the exchange itself: what a stage writes through it, the next stage reads', () => {
  const ctx = new RequestContext('req-1', 'chat', { model: 'm', messages: [] }, route, 0);
  const view: DispatchView = ctx;
  view.retries = 2;
  view.target = route.targets[0]!;
  assert.equal(ctx.retries, 2);
  assert.equal(ctx.target, route.targets[0]);
});
