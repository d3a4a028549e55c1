import type { CompiledRoute, RouteCache } from '../../config/compile.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Next, Stage } from '../../exchange/compose.js';
import type { CacheView, RequestContext } from '../../exchange/context.js';
import type { CacheResult } from '../../exchange/results.js';
import type { StreamResponse } from '../../providers/types.js';
import { chunksToJson, entrySize, isUsageOnlyChunk, jsonToChunks, usageChunk, type CacheEntry } from './entry.js';
import { cacheControl } from './cache-control.js';
import { Flight } from './flight.js';
import { cacheKey, type CacheScope } from './key.js';
import type { RemoteLead, SharedFlights } from './remote.js';
import { SemanticIndex, promptText, withoutPrompt, type Embedder } from './semantic.js';
import type { ResponseStore } from './store.js';

export type { CacheResult };

/** What every route's cache stage shares: the store, in-flight requests, and the gateway-wide settings. */
export interface CacheRuntime {
  readonly store: ResponseStore;
  /** Coalescing across instances (Redis backend) or across this instance's workers (server.workers); null in one process. */
  readonly remote: SharedFlights | null;
  /** Requests in flight, by key, shared by every route of this gateway. */
  readonly inflight: Map<string, Flight>;
  readonly clock: Clock;
  /** Answers larger than this are served but not stored. */
  readonly maxEntryBytes: number;
  /** How long a follower waits for the leader before going upstream itself. */
  readonly waitMs: number;
  /** Semantic indexes, one per namespace (in this process). */
  readonly semanticIndexes: Map<string, SemanticIndex>;
  /** An embedder for a provider's embedding model. */
  embedder(provider: string, model: string): Embedder;
}

/** A request's place in the semantic index, once its prompt is embedded. */
interface SemanticProbe {
  readonly index: SemanticIndex;
  readonly bucket: string;
  readonly vector: Float32Array;
}


const refuse = (): boolean => false;

/** Errors that mean no target could answer: the ones a stale entry may cover for. */
function coverable(e: SluiceError): boolean {
  return e.status >= 500 || e.status === 429;
}

/**
 * The exact response cache of one route, with request coalescing: identical requests in
 * flight at once make one upstream call (across instances with Redis), and the others get
 * its answer (`coalesced`), streamed followers chunk by chunk. Answers are isolated per
 * tenant (key, user or tier, as the route says) unless the route shares them. A stream and
 * a JSON answer to the same request share one entry: either is served as the other.
 */
export class CacheStage implements Stage {
  readonly name = 'cache';
  readonly #route: CompiledRoute;
  readonly #policy: RouteCache;
  readonly #rt: CacheRuntime;
  readonly #embed: Embedder | null;
  readonly #fresh = (entry: CacheEntry): boolean => entry.freshUntil > this.#rt.clock.now();

  constructor(route: CompiledRoute, policy: RouteCache, runtime: CacheRuntime) {
    this.#route = route;
    this.#policy = policy;
    this.#rt = runtime;
    this.#embed = policy.semantic === null ? null : runtime.embedder(policy.semantic.provider, policy.semantic.model);
  }

  /** Works through its CacheView (writes only what the cache did, and an answer); `run` and `#lead` hold the whole exchange to hand it to `next`. */
  async run(ctx: RequestContext, next: Next): Promise<void> {
    const cc = cacheControl(ctx.headers['cache-control']);
    const noCache = cc.has('no-cache');
    const noStore = cc.has('no-store');
    const temperature = typeof ctx.body.temperature === 'number' ? ctx.body.temperature : 1;
    // Sampling at a temperature above 0 gives a different answer each time: not cached
    // unless the route says so. (OpenAI's default temperature is 1.)
    const deterministic = ctx.endpoint === 'embeddings' || temperature === 0 || this.#policy.anyTemperature;
    // A request whose canonical body left something out (kept for a pass-through) has no key that says all it asks.
    if (noStore || !deterministic || (ctx.native !== null && ctx.native.refusal !== null)) {
      this.#mark(ctx, 'bypass');
      return next(ctx);
    }
    const scope = this.scope(ctx);
    const key = cacheKey(ctx.endpoint, ctx.body, scope, ctx.bodyText);
    let stale: CacheEntry | null = null;
    if (!noCache) {
      const entry = await this.#rt.store.get(key);
      if (entry !== null && entry.freshUntil > this.#rt.clock.now()) {
        this.#serve(ctx, entry, 'hit');
        return;
      }
      stale = entry;
      // When a leader fails before answering, its followers race to lead: the first does and
      // the others follow it, rather than each going upstream (a few times, then on their own).
      // Nothing is awaited between the last look at `inflight` and #lead registering its
      // flight, so two identical requests can never both lead in this process.
      for (let tries = 0; tries < 3; tries++) {
        const flight = this.#rt.inflight.get(key);
        if (flight === undefined) break;
        if (await this.#follow(ctx, flight)) return;
      }
    }
    await this.#lead(ctx, next, key, scope, stale, noCache);
  }

  /** Embeds the request's prompt for the semantic index; null when the route has none or embedding failed. */
  async #probe(ctx: CacheView, scope: CacheScope): Promise<SemanticProbe | null> {
    const semantic = this.#policy.semantic;
    if (semantic === null || this.#embed === null) return null;
    const text = promptText(ctx.endpoint, ctx.body);
    if (text === null) return null;
    const vector = await this.#embed(text, ctx.controller);
    if (vector === null) return null;
    let index = this.#rt.semanticIndexes.get(scope.namespace);
    if (index === undefined) {
      index = new SemanticIndex(semantic.maxEntries);
      this.#rt.semanticIndexes.set(scope.namespace, index);
    }
    return { index, bucket: cacheKey(ctx.endpoint, withoutPrompt(ctx.body), scope), vector };
  }

  /** Serves the answer of the nearest cached prompt above the threshold, if it is still cached; returns it. */
  async #semanticHit(ctx: CacheView, probe: SemanticProbe, key: string): Promise<CacheEntry | null> {
    const near = probe.index.nearest(probe.bucket, probe.vector, this.#policy.semantic!.threshold);
    if (near === null || near.key === key) return null;
    const entry = await this.#rt.store.get(near.key);
    if (entry === null || entry.freshUntil <= this.#rt.clock.now()) {
      if (entry === null) probe.index.remove(probe.bucket, near.key);
      return null;
    }
    this.#serve(ctx, entry, 'hit');
    (ctx.responseHeaders ??= {})['x-sluice-cache-similarity'] = near.similarity.toFixed(4);
    return entry;
  }

  /** The namespace, tenant and version a request's answers live under. */
  scope(ctx: CacheView): CacheScope {
    const p = ctx.principal;
    const s = this.#policy.scope;
    const tenant = s === 'shared' ? 'shared' : s === 'tier' ? `tier:${p.tier}` : s === 'user' && p.user !== null ? `user:${p.user}` : p.id;
    return { namespace: this.#policy.namespace ?? this.#route.name, tenant, version: this.#policy.version };
  }

  /**
   * Serves a request from a flight in progress. Returns false when the flight failed or
   * timed out before anything was sent, so the caller goes upstream itself.
   */
  async #follow(ctx: CacheView, flight: Flight): Promise<boolean> {
    const signal = ctx.controller;
    const format = await flight.started(this.#rt.waitMs, signal);
    if (format === null) return false;
    if (format === 'stream' && ctx.stream) {
      ctx.response = this.#tailResponse(ctx, flight);
      this.#mark(ctx, 'coalesced');
      return true;
    }
    const entry = await flight.done(this.#rt.waitMs, signal);
    if (entry === null) return false;
    this.#serve(ctx, entry, 'coalesced');
    return true;
  }

  async #lead(ctx: RequestContext, next: Next, key: string, scope: CacheScope, stale: CacheEntry | null, noCache: boolean): Promise<void> {
    let flight = new Flight(this.#rt.clock);
    const inflight = this.#rt.inflight;
    // A no-cache request refreshes the entry but does not take over another request's flight.
    const own = !inflight.has(key);
    if (own) inflight.set(key, flight);
    let remote: RemoteLead | null = null;
    let probe: SemanticProbe | null = null;
    try {
      // A similar prompt's answer, if the route has a semantic cache; followers share it too.
      probe = noCache || this.#embed === null ? null : await this.#probe(ctx, scope);
      const similar = probe === null ? null : await this.#semanticHit(ctx, probe, key);
      if (similar !== null) {
        flight.finish(similar);
        return;
      }
      if (this.#rt.remote !== null) {
        const claim = await this.#rt.remote.claim(key, noCache ? refuse : this.#fresh);
        if (claim.role === 'hit') {
          // Stored by a flight that ended between this request's cache read and its claim.
          this.#serve(ctx, claim.entry, 'hit');
          flight.finish(claim.entry);
          return;
        }
        if (claim.role === 'follow') {
          if ((await claim.feed(flight, this.#rt.waitMs)) && (await this.#follow(ctx, flight))) return;
          // The remote answer came too late for this request: it goes upstream on its own,
          // leaving the fed flight to whoever follows it.
          if (flight.format !== null) flight = new Flight(this.#rt.clock);
        } else remote = claim;
      }
      this.#mark(ctx, 'miss');
      try {
        await next(ctx);
      } catch (err) {
        const e = toSluiceError(err);
        if (stale !== null && coverable(e) && this.#withinGrace(stale)) {
          this.#serve(ctx, stale, 'stale');
          flight.fail();
          remote?.fail();
          return;
        }
        throw err;
      }
      this.#publish(ctx, key, flight, remote);
      const indexed = probe;
      if (indexed !== null) flight.onSettled(() => !flight.failed && indexed.index.add(indexed.bucket, indexed.vector, key));
    } finally {
      // Whatever ended the leader's part without an answer to share (an error, an
      // uncacheable answer) frees the followers; a recorded stream settles when it ends.
      if (!flight.settled && flight.format !== 'stream') {
        flight.fail();
        remote?.fail();
      }
      if (own) flight.onSettled(() => inflight.get(key) === flight && inflight.delete(key));
    }
  }

  /** Stores the leader's answer and hands it to its followers; a stream is recorded as it passes. */
  #publish(ctx: CacheView, key: string, flight: Flight, remote: RemoteLead | null): void {
    const res = ctx.response;
    // A passed-through answer is in its client's schema, not the canonical one entries hold:
    // never stored nor shared (followers go upstream themselves), so no client gets it in
    // the wrong shape (issue 18).
    if (res === null || res.status !== 200 || res.native !== undefined) return;
    if (res.kind === 'json') {
      const entry: CacheEntry = { format: 'json', status: 200, body: res.body, chunks: null, usage: res.usage, freshUntil: this.#freshUntil(ctx) };
      if (entrySize(entry) > this.#rt.maxEntryBytes) return;
      void this.#rt.store.set(key, entry, this.#storeTtl(ctx));
      flight.finish(entry);
      remote?.finish(entry);
      return;
    }
    flight.start('stream');
    remote?.streaming();
    ctx.response = this.#recordStream(ctx, key, res, flight, remote);
  }

  /** Passes a stream through to the leader's client while its followers and the cache get a copy. */
  #recordStream(ctx: CacheView, key: string, res: StreamResponse, flight: Flight, remote: RemoteLead | null): StreamResponse {
    const rt = this.#rt;
    let size = 0;
    let complete = false;
    const freshUntil = this.#freshUntil(ctx);
    const ttl = this.#storeTtl(ctx);
    async function* chunks(): AsyncGenerator<string> {
      try {
        for await (const chunk of res.chunks) {
          if (!isUsageOnlyChunk(chunk)) {
            size += chunk.length * 2 + 16;
            flight.push(chunk);
            remote?.chunk(chunk);
          }
          yield chunk;
        }
        complete = true;
      } finally {
        if (complete) {
          const entry: CacheEntry = { format: 'stream', status: 200, body: null, chunks: flight.chunks, usage: res.usage(), freshUntil };
          if (size <= rt.maxEntryBytes) void rt.store.set(key, entry, ttl);
          flight.finish(entry);
          remote?.finish(entry);
        } else {
          // An upstream failure, or the leader's client left: followers already streaming
          // get an error event, the others go upstream themselves.
          flight.fail();
          remote?.fail();
        }
      }
    }
    return { kind: 'stream', status: 200, chunks: chunks(), usage: () => res.usage() };
  }

  /** A follower's stream: the leader's chunks as they arrive (no tokens of its own spent). */
  #tailResponse(ctx: CacheView, flight: Flight): StreamResponse {
    const endpoint = ctx.endpoint;
    const wantsUsage = ctx.includeUsage;
    let entryUsage: CacheEntry['usage'] = null;
    async function* chunks(): AsyncGenerator<string> {
      yield* flight.tail(() => new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: 'The upstream answer this request shared with an identical one failed part way.' }));
      const done = await flight.done(0, ctx.controller);
      entryUsage = done?.usage ?? null;
      if (wantsUsage && entryUsage !== null) yield usageChunk(endpoint, flight.chunks[0], entryUsage);
    }
    return { kind: 'stream', status: 200, chunks: chunks(), usage: () => null };
  }

  /** Answers from an entry, in the form the client asked for. Cached answers spend no tokens. */
  #serve(ctx: CacheView, entry: CacheEntry, result: CacheResult): void {
    this.#mark(ctx, result);
    if (!ctx.stream) {
      const body = entry.format === 'json' ? entry.body! : chunksToJson(ctx.endpoint, entry.chunks!, entry.usage);
      ctx.response = { kind: 'json', status: entry.status, body, usage: null };
      return;
    }
    const list = entry.format === 'stream' ? entry.chunks! : jsonToChunks(ctx.endpoint, entry.body!);
    const endpoint = ctx.endpoint;
    const tail = ctx.includeUsage && entry.usage !== null ? [usageChunk(endpoint, list[0], entry.usage)] : [];
    async function* chunks(): AsyncGenerator<string> {
      yield* list;
      yield* tail;
    }
    ctx.response = { kind: 'stream', status: entry.status, chunks: chunks(), usage: () => null };
  }

  #withinGrace(entry: CacheEntry): boolean {
    return entry.freshUntil + this.#policy.staleIfErrorMs > this.#rt.clock.now();
  }

  #freshUntil(ctx: CacheView): number {
    return this.#rt.clock.now() + this.#ttl(ctx);
  }

  /** How long the store keeps an entry: its freshness plus the stale-if-error grace. */
  #storeTtl(ctx: CacheView): number {
    return this.#ttl(ctx) + this.#policy.staleIfErrorMs;
  }

  /** The route's TTL, or a shorter one the client asks for where the route allows it. */
  #ttl(ctx: CacheView): number {
    const asked = Number(ctx.headers['x-sluice-cache-ttl']);
    return this.#policy.clientTtl && Number.isFinite(asked) && asked > 0 ? Math.min(asked * 1000, this.#policy.ttlMs) : this.#policy.ttlMs;
  }

  #mark(ctx: CacheView, result: CacheResult): void {
    ctx.cacheResult = result;
    // Each request's own object (every stage that sets headers makes it fresh): set in place.
    (ctx.responseHeaders ??= {})['x-sluice-cache'] = result;
  }
}
