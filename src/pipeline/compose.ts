import type { RequestContext } from './context.js';

export type Next = (ctx: RequestContext) => Promise<void>;

/**
 * One pipeline stage (identify, admit, cache, dispatch …). A stage may act before and after
 * `next`, or not call it at all (a cache hit, a rejection).
 */
export interface Stage {
  readonly name: string;
  run(ctx: RequestContext, next: Next): Promise<void>;
}

const end: Next = () => Promise.resolve();

/**
 * Links stages into one function. The links are made once, when a route's chain is built
 * for a config version, so a request allocates no closures to walk the chain.
 */
export function compose(stages: readonly Stage[]): Next {
  let next = end;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    const after = next;
    next = (ctx) => stage.run(ctx, after);
  }
  return next;
}
