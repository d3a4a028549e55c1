import type { Usage } from '../../providers/types.js';
import type { CacheEntry } from './entry.js';
import type { Flight } from './flight.js';

/**
 * Coalescing beyond this process: identical requests on other instances (Redis,
 * policies/cache/redis.ts) or on other workers of this instance (the cluster primary,
 * cluster/flights.ts) make one upstream call. The first to claim a key leads and publishes its
 * answer's events; the others follow them.
 */
export interface SharedFlights {
  /**
   * Takes the key's lock, or follows whoever holds it. A free lock with a stored entry that
   * `usable` accepts means a flight has just ended: the caller is answered from that entry.
   */
  claim(key: string, usable: (entry: CacheEntry) => boolean): Promise<RemoteLead | RemoteFollow | RemoteHit>;
}

/** What a leader publishes for followers elsewhere. */
export interface RemoteLead {
  readonly role: 'lead';
  /** The answer is a stream; its chunks follow. */
  streaming(): void;
  chunk(text: string): void;
  /** The answer is complete: a JSON entry, or the stream's end with its usage and freshness. */
  finish(entry: CacheEntry): void;
  fail(): void;
}

/** The flight had just ended when this request looked: its stored entry. */
export interface RemoteHit {
  readonly role: 'hit';
  readonly entry: CacheEntry;
}

/** A follower of a leader elsewhere. */
export interface RemoteFollow {
  readonly role: 'follow';
  /**
   * Feeds `flight` from the leader's events. Resolves true once the answer has started (the
   * rest is fed in the background), false when nothing came within `waitMs` or the leader
   * failed before answering — then the caller goes upstream itself.
   */
  feed(flight: Flight, waitMs: number): Promise<boolean>;
}

/** A lead that publishes nothing: the shared part is unavailable, so this one leads alone. */
export const silentLead: RemoteLead = { role: 'lead', streaming: () => {}, chunk: () => {}, finish: () => {}, fail: () => {} };

/** A followed stream's entry, from the chunks fed so far and the end event's usage and freshness; null when malformed. */
export function streamEntry(flight: Flight, usage: string | undefined, freshUntil: string | undefined): CacheEntry | null {
  const fresh = Number(freshUntil);
  if (!Number.isFinite(fresh)) return null;
  let u: Usage | null = null;
  try {
    u = usage === undefined ? null : (JSON.parse(usage) as Usage | null);
  } catch {
    u = null;
  }
  return { format: 'stream', status: 200, body: null, chunks: [...flight.chunks], usage: u, freshUntil: fresh };
}
