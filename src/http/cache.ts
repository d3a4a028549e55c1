import { hash } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { CompiledService, ServiceCache } from '../config/services.js';
import type { Next, Stage } from '../exchange/compose.js';
import { cacheControl } from '../policies/cache/cache-control.js';
import type { CacheEntry } from '../policies/cache/entry.js';
import { Flight } from '../policies/cache/flight.js';
import { scopePrefix } from '../policies/cache/key.js';
import type { CacheRuntime } from '../policies/cache/stage.js';
import type { RemoteLead } from '../policies/cache/remote.js';

const refuse = (): boolean => false;
import type { HttpContext, ResponseCapture } from './context.js';
import { endToEnd } from './headers.js';

/** Seconds from `s-maxage` (a shared cache's own) or `max-age`; null when neither is given. */
function maxAgeMs(cc: ReadonlyMap<string, string>): number | null {
  const v = cc.get('s-maxage') ?? cc.get('max-age');
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : null;
}

function headerText(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

/** Response headers a cached answer keeps: end-to-end ones, minus those that belong to one exchange. */
function storedHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(endToEnd(raw))) {
    if (v === undefined || k === 'set-cookie' || k === 'x-request-id' || k === 'date' || k === 'age') continue;
    out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * The response cache of an HTTP service, for GET and HEAD (HEAD is answered from a GET's
 * entry). Freshness comes from the upstream's `Cache-Control` (`s-maxage`, then `max-age`),
 * else the service's TTL; `no-store`, `private`, `no-cache`, `Set-Cookie` and `Vary: *`
 * answers are not stored, and an answer is only served to a request whose headers named in
 * its `Vary` match. Requests that carry credentials bypass the cache unless the service
 * caches per principal. Identical requests in flight make one upstream call (the model
 * routes' coalescing; across instances too with the Redis backend).
 */
export class HttpCacheStage implements Stage<HttpContext> {
  readonly name = 'cache';
  readonly #service: CompiledService;
  readonly #policy: ServiceCache;
  readonly #rt: CacheRuntime;

  constructor(service: CompiledService, policy: ServiceCache, runtime: CacheRuntime) {
    this.#service = service;
    this.#policy = policy;
    this.#rt = runtime;
  }

  async run(ctx: HttpContext, next: Next<HttpContext>): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next(ctx);
    const cc = cacheControl(ctx.headers['cache-control']);
    const credentials = ctx.principal.id !== 'anonymous' || ctx.headers.authorization !== undefined;
    if (cc.has('no-store') || (credentials && !this.#policy.perPrincipal)) {
      this.#mark(ctx, 'bypass');
      return next(ctx);
    }
    const key = this.#key(ctx, credentials);
    if (!cc.has('no-cache')) {
      const entry = await this.#rt.store.get(key);
      if (entry !== null && entry.format === 'http' && entry.freshUntil > this.#rt.clock.now() && this.#varyMatches(entry, ctx.headers)) {
        this.#write(ctx, entry, 'hit');
        return;
      }
      const flight = this.#rt.inflight.get(key);
      if (flight !== undefined) {
        const shared = await flight.done(this.#rt.waitMs, ctx.controller);
        if (shared !== null && this.#varyMatches(shared, ctx.headers)) {
          this.#write(ctx, shared, 'coalesced');
          return;
        }
      }
    }
    // HEAD has no body to store: it goes upstream, and a later GET fills the entry.
    if (ctx.method === 'HEAD') {
      this.#mark(ctx, 'miss');
      return next(ctx);
    }
    await this.#lead(ctx, next, key, cc.has('no-cache'));
  }

  /** A stored answer another instance's claim may serve: an HTTP entry still fresh. */
  readonly #usable = (entry: CacheEntry): boolean => entry.format === 'http' && entry.freshUntil > this.#rt.clock.now();

  async #lead(ctx: HttpContext, next: Next<HttpContext>, key: string, noCache: boolean): Promise<void> {
    let flight = new Flight(this.#rt.clock);
    const own = !this.#rt.inflight.has(key);
    if (own) {
      this.#rt.inflight.set(key, flight);
      flight.onSettled(() => this.#rt.inflight.get(key) === flight && this.#rt.inflight.delete(key));
    }
    let remote: RemoteLead | null = null;
    try {
      // With the Redis backend, identical requests on other instances make one upstream call too.
      if (this.#rt.remote !== null) {
        const claim = await this.#rt.remote.claim(key, noCache ? refuse : this.#usable);
        if (claim.role === 'hit') {
          flight.finish(claim.entry);
          if (this.#varyMatches(claim.entry, ctx.headers)) {
            this.#write(ctx, claim.entry, 'hit');
            return;
          }
        } else if (claim.role === 'follow') {
          if (await claim.feed(flight, this.#rt.waitMs)) {
            const shared = await flight.done(this.#rt.waitMs, ctx.controller);
            if (shared !== null && shared.format === 'http' && this.#varyMatches(shared, ctx.headers)) {
              this.#write(ctx, shared, 'coalesced');
              return;
            }
          }
          // Nothing usable came in time: this request goes upstream on its own.
          if (flight.settled || flight.format !== null) flight = new Flight(this.#rt.clock);
        } else remote = claim;
      }
      this.#mark(ctx, 'miss');
      ctx.capture = this.#capture(ctx, key, flight, remote);
      await next(ctx);
    } finally {
      // No complete, storable answer: followers go upstream themselves.
      if (!flight.settled) {
        flight.fail();
        remote?.fail();
      }
    }
  }

  #capture(ctx: HttpContext, key: string, flight: Flight, remote: RemoteLead | null): ResponseCapture {
    const rt = this.#rt;
    const policy = this.#policy;
    const request = ctx.headers;
    return {
      maxBytes: rt.maxEntryBytes,
      wants(status, headers) {
        if (status !== 200 || headers['set-cookie'] !== undefined) return false;
        const cc = cacheControl(headers['cache-control']);
        return !cc.has('no-store') && !cc.has('private') && !cc.has('no-cache') && headerText(headers.vary).trim() !== '*';
      },
      done(status, headers, body) {
        const ttl = maxAgeMs(cacheControl(headers['cache-control'])) ?? policy.ttlMs;
        if (ttl <= 0) return;
        const vary: Record<string, string> = {};
        for (const name of headerText(headers.vary).split(',')) {
          const n = name.trim().toLowerCase();
          if (n !== '') vary[n] = headerText(request[n]);
        }
        const entry: CacheEntry = { format: 'http', status, body: body.toString('base64'), chunks: null, usage: null, freshUntil: rt.clock.now() + ttl, headers: storedHeaders(headers), vary };
        // Stored before the remote lock is released (one connection, in order): a late claim finds the entry.
        void rt.store.set(key, entry, ttl);
        flight.finish(entry);
        remote?.finish(entry);
      },
    };
  }

  /** The service's namespace; the tenant is the principal when caching per principal, else `public`. */
  #key(ctx: HttpContext, credentials: boolean): string {
    const tenant = credentials ? ctx.principal.id : 'public';
    const target = `${(ctx.headers.host ?? '').toLowerCase()}\n${ctx.url}`;
    return scopePrefix({ namespace: `service:${this.#service.name}`, tenant, version: this.#policy.version }) + hash('sha256', target, 'base64url');
  }

  #varyMatches(entry: CacheEntry, headers: IncomingHttpHeaders): boolean {
    for (const [name, value] of Object.entries(entry.vary ?? {})) if (headerText(headers[name]) !== value) return false;
    return true;
  }

  #write(ctx: HttpContext, entry: CacheEntry, result: 'hit' | 'coalesced'): void {
    this.#mark(ctx, result);
    const body = Buffer.from(entry.body ?? '', 'base64');
    const headers: OutgoingHttpHeaders = { ...entry.headers, ...ctx.responseHeaders, 'x-request-id': ctx.id, 'content-length': body.length };
    const ttl = maxAgeMs(cacheControl(entry.headers?.['cache-control'])) ?? this.#policy.ttlMs;
    headers.age = String(Math.max(0, Math.floor((this.#rt.clock.now() - (entry.freshUntil - ttl)) / 1000)));
    ctx.res.writeHead(entry.status, headers);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
    ctx.status = entry.status;
    ctx.firstByteAt = this.#rt.clock.monotonic();
  }

  #mark(ctx: HttpContext, result: string): void {
    ctx.cacheResult = result;
    (ctx.responseHeaders ??= {})['x-sluice-cache'] = result;
  }
}
