import type { Next, Stage } from '../pipeline/compose.js';
import type { RequestContext } from '../pipeline/context.js';
import { SluiceError } from '../errors.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { Strategy } from './strategy.js';

/**
 * The terminal stage: picks a target with the route's strategy and sends the call to its
 * provider. `ctx.response` holds the answer once the upstream has committed to it. Retries
 * and fallbacks (the routing issue) wrap `send` here, before the first byte.
 */
export class DispatchStage implements Stage {
  readonly name = 'dispatch';
  readonly #strategy: Strategy;
  readonly #adapters: ReadonlyMap<string, ProviderAdapter>;

  constructor(strategy: Strategy, adapters: ReadonlyMap<string, ProviderAdapter>) {
    this.#strategy = strategy;
    this.#adapters = adapters;
  }

  async run(ctx: RequestContext, next: Next): Promise<void> {
    const target = this.#strategy.pick(ctx.route);
    const adapter = this.#adapters.get(target.provider);
    if (adapter === undefined) throw new SluiceError('SLUICE_ERR_INTERNAL', { message: `No adapter for provider "${target.provider}".` });
    ctx.target = target;
    const body = target.model === null || target.model === ctx.model ? ctx.body : { ...ctx.body, model: target.model };
    ctx.response = await adapter.send({
      endpoint: ctx.endpoint,
      body,
      stream: ctx.stream,
      includeUsage: ctx.includeUsage,
      signal: ctx.controller.signal,
      requestId: ctx.id,
      timeouts: null,
    });
    await next(ctx);
  }
}
