import { parseEntry, serializeEntry, type CacheEntry } from '../policies/cache/entry.js';
import type { Flight } from '../policies/cache/flight.js';
import type { PurgeFilter } from '../policies/cache/key.js';
import { silentLead, streamEntry, type RemoteFollow, type RemoteHit, type RemoteLead, type SharedFlights } from '../policies/cache/remote.js';
import type { ResponseStore, StoreStats } from '../policies/cache/store.js';
import type { PrimaryChannel } from './channel.js';
import type { FlightEvent } from './protocol.js';

/** How the primary answers a claim (cluster/hub.ts). */
export type ClaimReply = { readonly role: 'lead'; readonly token: string } | { readonly role: 'follow' } | { readonly role: 'entry'; readonly token: string; readonly entry: string };

/**
 * The in-memory response cache of a cluster worker: the entries live in the primary's one
 * LRU (cluster/hub.ts), so an answer cached by one worker is a hit on every other. Entries
 * travel serialized, as they do to Redis. Like the Redis store, a failed call reads as a miss
 * or a skipped write, never as a failed request.
 */
export class WorkerResponseStore implements ResponseStore {
  readonly kind = 'memory';
  readonly #channel: PrimaryChannel;
  #stats: StoreStats = { bytes: 0, entries: 0, evictions: 0, errors: 0 };
  #errors = 0;

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
  }

  async get(key: string): Promise<CacheEntry | null> {
    try {
      const text = await this.#channel.call<string | null>('cache.get', key);
      return text === null ? null : parseEntry(text);
    } catch {
      this.#errors++;
      return null;
    }
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    try {
      await this.#channel.call('cache.set', key, serializeEntry(entry), ttlMs);
    } catch {
      this.#errors++;
    }
  }

  purge(filter: PurgeFilter): Promise<number> {
    return this.#channel.call<number>('cache.purge', filter);
  }

  /**
   * The shared LRU's figures as last read (each call refreshes them for the next): metrics
   * read stats synchronously, and the primary's store is one IPC call away.
   */
  stats(): StoreStats {
    this.#channel.call<StoreStats>('cache.stats').then(
      (s) => (this.#stats = s),
      () => this.#errors++,
    );
    return { ...this.#stats, errors: this.#stats.errors + this.#errors };
  }

  /** The store is the primary's: it closes with the primary. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Coalescing across the workers of one instance: the primary holds each key's lock and relays
 * the leader's events to the followers on other workers, so N identical requests spread over
 * the workers make one upstream call, streams included. The same contract as Redis's
 * RemoteFlights (policies/cache/remote.ts).
 */
export class WorkerFlights implements SharedFlights {
  readonly #channel: PrimaryChannel;

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
  }

  async claim(key: string, usable: (entry: CacheEntry) => boolean): Promise<RemoteLead | RemoteFollow | RemoteHit> {
    // Events may arrive before `feed` is called: they wait here.
    const early: FlightEvent[] = [];
    let deliver: ((event: FlightEvent) => void) | null = null;
    const fid = this.#channel.follow((event) => (deliver === null ? early.push(event) : deliver(event)));
    let reply: ClaimReply;
    try {
      reply = await this.#channel.call<ClaimReply>('flight.claim', key, fid);
    } catch {
      this.#channel.unfollow(fid);
      return silentLead;
    }
    if (reply.role === 'follow') {
      return {
        role: 'follow',
        feed: (flight, waitMs) =>
          this.#follow(key, fid, flight, waitMs, (handler) => {
            deliver = handler;
            for (const event of early.splice(0)) handler(event);
          }),
      };
    }
    this.#channel.unfollow(fid);
    if (reply.role === 'entry') {
      const entry = parseEntry(reply.entry);
      if (entry !== null && usable(entry)) {
        this.#channel.note('flight.event', key, reply.token, null);
        return { role: 'hit', entry };
      }
    }
    return this.#lead(key, reply.token);
  }

  #lead(key: string, token: string): RemoteLead {
    const publish = (event: FlightEvent): void => this.#channel.note('flight.event', key, token, event);
    return {
      role: 'lead',
      streaming: () => publish({ t: 's' }),
      chunk: (text) => publish({ t: 'c', d: text }),
      finish: (entry) => publish(entry.format === 'stream' ? { t: 'e', u: JSON.stringify(entry.usage), f: String(entry.freshUntil) } : { t: 'e', d: serializeEntry(entry) }),
      fail: () => publish({ t: 'f' }),
    };
  }

  #follow(key: string, fid: number, flight: Flight, waitMs: number, attach: (handler: (event: FlightEvent) => void) => void): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let started = false;
      let ended = false;
      const settle = (value: boolean): void => {
        clearTimeout(timer);
        resolve(value);
      };
      const end = (): void => {
        if (ended) return;
        ended = true;
        this.#channel.unfollow(fid);
        this.#channel.note('flight.unfollow', key, fid);
        // Ended without an answer: followers already streaming see a failure; the others go upstream.
        if (!flight.settled && started) flight.fail();
        settle(false);
      };
      // Nothing within the wait: this request goes upstream itself. Once started, the stream is followed to its end.
      const timer = setTimeout(() => {
        if (!started) end();
      }, waitMs);
      attach((event) => {
        if (ended) return;
        if (event.t === 's') {
          flight.start('stream');
          started = true;
          settle(true);
        } else if (event.t === 'c') {
          flight.push(event.d);
        } else if (event.t === 'e') {
          const entry = event.d !== undefined ? parseEntry(event.d) : streamEntry(flight, event.u, event.f);
          if (entry !== null) {
            flight.finish(entry);
            settle(true);
          }
          end();
        } else {
          end();
        }
      });
    });
  }
}
