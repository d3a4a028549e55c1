import type { CompiledRoute, RouteCache } from '../../config/compile.js';
import type { Next, Stage } from '../../pipeline/compose.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { JsonResponse } from '../../providers/types.js';
import { cacheKey } from './key.js';
import type { MemoryResponseCache } from './memory.js';

export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'bypass';

/** `Cache-Control` request directives the cache honours. */
function directives(header: string | string[] | undefined): { noCache: boolean; noStore: boolean } {
  const v = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
  return { noCache: v.includes('no-cache'), noStore: v.includes('no-store') };
}

/**
 * The exact response cache of one route, with request coalescing: identical requests in
 * flight at once make one upstream call, and the others get its answer (`coalesced`).
 * Answers are isolated per tenant (key, user or tier, as the route says) unless the route
 * shares them. This first slice caches complete JSON answers; streams bypass it.
 */
export class CacheStage implements Stage {
  readonly name = 'cache';
  readonly #route: CompiledRoute;
  readonly #policy: RouteCache;
  readonly #store: MemoryResponseCache;
  readonly #inflight = new Map<string, Promise<JsonResponse | null>>();

  constructor(route: CompiledRoute, policy: RouteCache, store: MemoryResponseCache) {
    this.#route = route;
    this.#policy = policy;
    this.#store = store;
  }

  async run(ctx: RequestContext, next: Next): Promise<void> {
    const { noCache, noStore } = directives(ctx.headers['cache-control']);
    const temperature = typeof ctx.body.temperature === 'number' ? ctx.body.temperature : 1;
    // Sampling at a temperature above 0 gives a different answer each time: not cached
    // unless the route says so. (OpenAI's default temperature is 1.)
    const deterministic = ctx.endpoint === 'embeddings' || temperature === 0 || this.#policy.anyTemperature;
    if (ctx.stream || noStore || !deterministic) {
      this.#mark(ctx, 'bypass');
      return next(ctx);
    }
    const key = cacheKey(ctx.endpoint, ctx.body, this.#namespace(ctx), this.#policy.version);
    if (!noCache) {
      const hit = this.#store.get(key);
      if (hit !== undefined) {
        ctx.response = { kind: 'json', status: hit.status, body: hit.body, usage: null };
        this.#mark(ctx, 'hit');
        return;
      }
      const leader = this.#inflight.get(key);
      if (leader !== undefined) {
        const answer = await leader;
        if (answer !== null) {
          ctx.response = { ...answer, usage: null };
          this.#mark(ctx, 'coalesced');
          return;
        }
        // The leader failed: go upstream ourselves.
      }
    }
    let settle!: (r: JsonResponse | null) => void;
    const shared = new Promise<JsonResponse | null>((resolve) => (settle = resolve));
    this.#inflight.set(key, shared);
    this.#mark(ctx, 'miss');
    try {
      await next(ctx);
      const res = ctx.response;
      if (res !== null && res.kind === 'json' && res.status === 200) {
        this.#store.set(key, { status: res.status, body: res.body }, this.#ttl(ctx));
        settle(res);
      } else settle(null);
    } catch (err) {
      settle(null);
      throw err;
    } finally {
      if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
    }
  }

  #namespace(ctx: RequestContext): string {
    const p = ctx.principal;
    const tenant = this.#policy.scope === 'shared' ? 'shared' : this.#policy.scope === 'tier' ? `tier:${p.tier}` : this.#policy.scope === 'user' ? (p.user === null ? p.id : `user:${p.user}`) : p.id;
    return `${this.#route.name}|${tenant}`;
  }

  /** The route's TTL, or a shorter one the client asks for where the route allows it. */
  #ttl(ctx: RequestContext): number {
    const asked = Number(ctx.headers['x-sluice-cache-ttl']);
    return this.#policy.clientTtl && Number.isFinite(asked) && asked > 0 ? Math.min(asked * 1000, this.#policy.ttlMs) : this.#policy.ttlMs;
  }

  #mark(ctx: RequestContext, result: CacheResult): void {
    ctx.cacheResult = result;
    ctx.responseHeaders = { ...ctx.responseHeaders, 'x-sluice-cache': result };
  }
}
