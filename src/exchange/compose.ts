import type { RequestContext } from './context.js';

/** `C` is the request's context: a model request's RequestContext unless said otherwise (HTTP routes have their own). */
export type Next<C = RequestContext> = (ctx: C) => Promise<void>;

/**
 * One pipeline stage (identify, admit, cache, dispatch …). A stage may act before and after
 * `next`, or not call it at all (a cache hit, a rejection).
 */
export interface Stage<C = RequestContext> {
  readonly name: string;
  run(ctx: C, next: Next<C>): Promise<void>;
}

const end = (): Promise<void> => Promise.resolve();

/**
 * Links stages into one function. The links are made once, when a route's chain is built
 * for a config version, so a request allocates no closures to walk the chain.
 */
export function compose<C = RequestContext>(stages: readonly Stage<C>[]): Next<C> {
  let next: Next<C> = end;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    const after = next;
    next = (ctx: C) => stage.run(ctx, after);
  }
  return next;
}
