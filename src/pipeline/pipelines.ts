import type { CompiledRoute, RuntimeConfig } from '../config/compile.js';
import type { ProviderAdapter } from '../providers/types.js';
import { DispatchStage } from '../routing/dispatch.js';
import { FirstTarget } from '../routing/strategy.js';
import { RouteTable } from '../routing/table.js';
import { compose, type Next, type Stage } from './compose.js';

/**
 * The compiled form of one config version: the route table and one chain per route. A new
 * config version builds a new Pipelines; requests in flight keep the one they started with.
 */
export class Pipelines {
  readonly table: RouteTable;
  readonly #chains = new Map<CompiledRoute, Next>();

  constructor(config: RuntimeConfig, adapters: ReadonlyMap<string, ProviderAdapter>) {
    this.table = new RouteTable(config.routes);
    const dispatch = new DispatchStage(new FirstTarget(), adapters);
    for (const route of config.routes) {
      // identify, admit and cache stages join here as their issues land; absent ones are
      // not in the chain at all.
      const stages: Stage[] = [dispatch];
      this.#chains.set(route, compose(stages));
    }
  }

  chain(route: CompiledRoute): Next {
    return this.#chains.get(route)!;
  }
}
