import type { IncomingHttpHeaders } from 'node:http';
import type { AffinitySource, CompiledService } from '../config/services.js';
import type { Clock } from '../lib/clock.js';
import { fnv1a32 } from '../lib/hash.js';
import { ExpiringMap } from '../stores/expiring-map.js';
import { createStrategy, type PickRequest, type Strategy } from '../routing/strategies.js';
import type { InstanceState } from './instance.js';

/** Points per unit of weight on the consistent-hash ring: enough for an even spread of a few instances. */
const RING_POINTS_PER_WEIGHT = 160;
/** Header affinities remembered per gateway process (least recently used dropped first). */
const MAX_HEADER_AFFINITIES = 100_000;
const NO_TOKENS: PickRequest = { promptTokens: 0, maxTokens: 0, region: null };

/** What the balancer reads of a request. */
export interface BalanceRequest {
  readonly headers: IncomingHttpHeaders;
  readonly ip: string;
  /** Path without the query. */
  readonly path: string;
}

export interface Pick {
  readonly instance: InstanceState;
  /** A Set-Cookie value to send with the answer (a new or moved sticky session), else null. */
  readonly setCookie: string | null;
}

/**
 * Chooses an instance of a service for one attempt, among those in rotation and not yet
 * tried by the request: the sticky instance when the request has one and it is available,
 * else the consistent-hash owner of the request's key, else the service's strategy (the same
 * strategies as model routes; `round-robin` is smooth weighted round robin).
 */
export class Balancer {
  readonly #service: CompiledService;
  readonly #instances: readonly InstanceState[];
  readonly #strategy: Strategy;
  readonly #clock: Clock;
  readonly #ring: Ring | null;
  readonly #affinities: ExpiringMap<string> | null;
  readonly #byId: ReadonlyMap<string, InstanceState>;

  constructor(service: CompiledService, instances: readonly InstanceState[], clock: Clock, random: () => number) {
    this.#service = service;
    this.#instances = instances;
    const s = service.balance.strategy;
    this.#strategy = createStrategy(s === 'consistent-hash' ? 'weighted' : s, { random });
    this.#clock = clock;
    this.#ring = s === 'consistent-hash' ? new Ring(instances) : null;
    this.#affinities = service.balance.sticky?.kind === 'header' ? new ExpiringMap(MAX_HEADER_AFFINITIES) : null;
    this.#byId = new Map(instances.map((i) => [i.id, i]));
  }

  pick(req: BalanceRequest, tried: ReadonlySet<InstanceState>): Pick | null {
    const usable = (i: InstanceState | undefined): i is InstanceState => i !== undefined && i.available && !tried.has(i);
    const sticky = this.#service.balance.sticky;
    let stickyKey: string | null = null;
    if (sticky !== null) {
      stickyKey = affinityKey(req, sticky.kind, sticky.name);
      if (stickyKey !== null) {
        const id = sticky.kind === 'cookie' ? stickyKey : this.#affinities!.get(stickyKey, this.#clock.monotonic());
        const bound = id === undefined ? undefined : this.#byId.get(id);
        if (usable(bound)) return { instance: bound, setCookie: null };
      }
    }
    const instance = this.#choose(req, usable);
    if (instance === null) return null;
    if (sticky === null) return { instance, setCookie: null };
    if (sticky.kind === 'header') {
      if (stickyKey !== null) this.#affinities!.set(stickyKey, instance.id, this.#clock.monotonic() + sticky.ttlMs);
      return { instance, setCookie: null };
    }
    // A new session, or one whose instance went away: (re)bind it.
    return { instance, setCookie: `${sticky.name}=${instance.id}; Path=/; Max-Age=${Math.round(sticky.ttlMs / 1000)}; HttpOnly; SameSite=Lax` };
  }

  /** Whether some instance in rotation has not been tried yet (no balancing state is touched). */
  hasOther(tried: ReadonlySet<InstanceState>): boolean {
    return this.#instances.some((i) => i.available && !tried.has(i));
  }

  #choose(req: BalanceRequest, usable: (i: InstanceState | undefined) => i is InstanceState): InstanceState | null {
    const hashOn = this.#service.balance.hashOn;
    if (this.#ring !== null && hashOn !== null) {
      const key = affinityKey(req, hashOn.source, hashOn.name);
      // No key (header absent): balanced like any other request.
      if (key !== null) return this.#ring.owner(key, usable);
    }
    const candidates = this.#instances.filter(usable);
    return (this.#strategy.pick(candidates, NO_TOKENS) as InstanceState | null) ?? null;
  }
}

/** The request's value for a sticky session or hash key; null when it has none. */
export function affinityKey(req: BalanceRequest, source: AffinitySource, name: string): string | null {
  switch (source) {
    case 'ip':
      return req.ip;
    case 'path':
      return req.path;
    case 'header': {
      const v = req.headers[name];
      const s = Array.isArray(v) ? v[0] : v;
      return s === undefined || s === '' ? null : s;
    }
    case 'cookie':
      return cookieValue(req.headers.cookie, name);
  }
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: `name=value` pairs separated by "; "). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim().toLowerCase() === name.toLowerCase()) {
      const v = part.slice(eq + 1).trim();
      return v === '' ? null : v;
    }
  }
  return null;
}

/**
 * A consistent-hash ring (Karger et al.): each instance owns points in proportion to its
 * weight, a key belongs to the first point at or after its hash. Adding or losing an instance
 * moves only the keys it owns; an unavailable owner passes its keys to the next instance on
 * the ring, and they come back when it returns.
 */
export class Ring {
  readonly #points: Uint32Array;
  readonly #owners: InstanceState[];
  readonly #distinct: number;

  constructor(instances: readonly InstanceState[]) {
    this.#distinct = instances.length;
    const points: { hash: number; owner: InstanceState }[] = [];
    for (const inst of instances) {
      const n = Math.max(1, Math.round(inst.weight * RING_POINTS_PER_WEIGHT));
      for (let i = 0; i < n; i++) points.push({ hash: fnv1a32(`${inst.config.url}#${i}`), owner: inst });
    }
    points.sort((a, b) => a.hash - b.hash);
    this.#points = Uint32Array.from(points, (p) => p.hash);
    this.#owners = points.map((p) => p.owner);
  }

  /** The first usable owner clockwise from the key's hash; null when none is usable. */
  owner(key: string, usable: (i: InstanceState | undefined) => boolean): InstanceState | null {
    const n = this.#points.length;
    if (n === 0) return null;
    const h = fnv1a32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const seen = new Set<InstanceState>();
    for (let k = 0; k < n; k++) {
      const owner = this.#owners[(lo + k) % n]!;
      if (seen.has(owner)) continue;
      if (usable(owner)) return owner;
      seen.add(owner);
      if (seen.size === this.#distinct) break;
    }
    return null;
  }
}
