import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { openRedis, type RedisConnection } from '../../stores/connection.js';
import { parseEntry, serializeEntry, type CacheEntry } from './entry.js';
import type { Flight } from './flight.js';
import { purgePattern, type PurgeFilter } from './key.js';
import { silentLead, streamEntry, type RemoteFollow, type RemoteHit, type RemoteLead, type SharedFlights } from './remote.js';
import type { ResponseStore, StoreStats } from './store.js';

export interface RedisCacheOptions {
  /** The compiled `state.redis`: one server, a Cluster or a Sentinel-managed master. */
  readonly connection: RedisConnection;
  /** Prepended to every key, after the state prefix: `${prefix}cache:`. */
  readonly prefix: string;
  /** Bound on each command, ms; a slower call reads as a miss. */
  readonly timeoutMs: number;
  /** How long a leader's lock lives unless released (a crashed leader frees it after this). */
  readonly leaseMs: number;
}

/** Deletes a lock only if this instance still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Cached answers in Redis, shared by every instance: one string key per answer with a TTL
 * (freshness plus stale grace). Commands are bounded by `timeoutMs`; a failure is counted and
 * read as a miss, so a Redis outage costs cache hits, never requests.
 *
 * An answer's entry, lock and flight stream share the hash tag `{<cache key>}`, so the
 * transactions that touch two of them run on one Redis Cluster slot (issue 20).
 */
export class RedisResponseStore implements ResponseStore {
  readonly kind = 'redis';
  readonly client: Redis | Cluster;
  readonly #prefix: string;
  readonly #connection: RedisConnection;
  readonly #timeoutMs: number;
  #errors = 0;
  /** Resolves at the client's first `ready` (bounded by the timeout); null once it has been ready. */
  #firstReady: Promise<void> | null;

  constructor(options: RedisCacheOptions) {
    this.#prefix = `${options.prefix}cache:`;
    this.#connection = options.connection;
    this.#timeoutMs = options.timeoutMs;
    // Errors surface on the calls (openRedis listens for the 'error' events).
    this.client = openRedis(options.connection, { offlineQueue: false, commandTimeoutMs: options.timeoutMs, connectTimeoutMs: Math.max(1000, options.timeoutMs) });
    this.#firstReady = new Promise<void>((resolve) => this.client.once('ready', resolve)).then(() => {
      this.#firstReady = null;
    });
  }

  /**
   * Waits (at most the command timeout) for the first connection, so the requests of a
   * starting instance are not all misses; later outages fail fast instead.
   */
  async ready(): Promise<void> {
    if (this.#firstReady === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#firstReady, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#timeoutMs)))]);
    clearTimeout(timer);
  }

  /** The Redis key of an answer, a lock or a flight's event stream: all three in the slot of `{key}`. */
  keyOf(key: string, kind: 'entry' | 'lock' | 'flight'): string {
    // Cache keys are escaped (keyPart, base64url): they hold no brace to end the tag early.
    return kind === 'entry' ? `${this.#prefix}{${key}}` : `${this.#prefix}${kind}:{${key}}`;
  }

  async get(key: string): Promise<CacheEntry | null> {
    try {
      await this.ready();
      const text = await this.client.get(this.keyOf(key, 'entry'));
      return text === null ? null : parseEntry(text);
    } catch {
      this.#errors++;
      return null;
    }
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    try {
      await this.client.set(this.keyOf(key, 'entry'), serializeEntry(entry), 'PX', Math.max(1, Math.round(ttlMs)));
    } catch {
      this.#errors++;
    }
  }

  /**
   * Deletes the entries under a filter. SCAN walks one server's keys, so on a Cluster every
   * master is scanned, and keys are unlinked one by one (one UNLINK of several keys would span
   * slots).
   */
  async purge(filter: PurgeFilter): Promise<number> {
    const match = `${this.#prefix}{${purgePattern(filter)}}`;
    // A Cluster lists its masters once it has the slot map.
    await this.ready();
    if (!this.client.isCluster) return purgeNode(this.client as Redis, match, (keys) => (this.client as Redis).unlink(...keys));
    const cluster = this.client as Cluster;
    let n = 0;
    for (const node of cluster.nodes('master')) {
      n += await purgeNode(node, match, async (keys) => (await Promise.all(keys.map((k) => cluster.unlink(k)))).reduce((a, b) => a + b, 0));
    }
    return n;
  }

  stats(): StoreStats {
    return { bytes: null, entries: null, evictions: 0, errors: this.#errors };
  }

  countError(): void {
    this.#errors++;
  }

  /** A separate connection for blocking reads (a blocked connection serves nothing else). */
  blockingClient(): Redis | Cluster {
    return openRedis(this.#connection, { offlineQueue: true, commandTimeoutMs: null, connectTimeoutMs: this.#timeoutMs * 10 });
  }

  async close(): Promise<void> {
    this.client.disconnect();
    return Promise.resolve();
  }
}

/** A leader's published events expire this long after the last one (late followers read the cache). */
const FLIGHT_LINGER_MS = 10_000;

/**
 * Coalescing across instances: the first instance to take a key's lock (SET NX PX with a
 * lease) calls upstream and publishes its answer as a Redis stream of events (start, chunk,
 * end, fail); the others read those events with blocking XREADs and feed their local flight,
 * so streaming followers on any instance receive the chunks as they arrive.
 */
export class RemoteFlights implements SharedFlights {
  readonly #store: RedisResponseStore;
  readonly #leaseMs: number;

  constructor(store: RedisResponseStore, leaseMs: number) {
    this.#store = store;
    this.#leaseMs = leaseMs;
  }

  /**
   * Takes the key's lock, or follows whoever holds it. The lock and the entry are read in one
   * transaction: a leader stores its entry before it releases its lock (in order, on one
   * connection), so a free lock with an entry means a flight has just ended, and the caller
   * (whose own cache read came a moment too early) is answered from that entry, when `usable`, instead of
   * calling upstream again (issue 15). A flight stays joinable until its entry is readable.
   */
  async claim(key: string, usable: (entry: CacheEntry) => boolean): Promise<RemoteLead | RemoteFollow | RemoteHit> {
    const lock = this.#store.keyOf(key, 'lock');
    const token = randomUUID();
    let taken: unknown;
    let stored: unknown;
    try {
      await this.#store.ready();
      const replies = await this.#store.client.multi().set(lock, token, 'PX', this.#leaseMs, 'NX').get(this.#store.keyOf(key, 'entry')).exec();
      if (replies === null || replies[0]![0] !== null || replies[1]![0] !== null) throw new Error('the claim transaction failed');
      taken = replies[0]![1];
      stored = replies[1]![1];
    } catch {
      // Redis is unavailable: lead alone, as a single instance would.
      this.#store.countError();
      return silentLead;
    }
    if (taken !== 'OK') return { role: 'follow', feed: (flight, waitMs) => this.#follow(key, lock, flight, waitMs) };
    const entry = typeof stored === 'string' ? parseEntry(stored) : null;
    // A stale entry (or a no-cache request) still needs an upstream call: lead it.
    if (entry === null || !usable(entry)) return this.#lead(key, lock, token);
    this.#store.client.eval(RELEASE, 1, lock, token).catch(() => this.#store.countError());
    return { role: 'hit', entry };
  }

  #lead(key: string, lock: string, token: string): RemoteLead {
    const client = this.#store.client;
    const stream = this.#store.keyOf(key, 'flight');
    // Commands on one connection run in order, so events need not be awaited one by one; a
    // lost event only makes followers time out and go upstream themselves.
    const add = (...fields: string[]): void => {
      client
        .multi()
        .xadd(stream, '*', ...fields)
        .pexpire(stream, this.#leaseMs)
        .exec()
        .catch(() => this.#store.countError());
    };
    const end = (...fields: string[]): void => {
      client
        .multi()
        .xadd(stream, '*', ...fields)
        .pexpire(stream, FLIGHT_LINGER_MS)
        .eval(RELEASE, 1, lock, token)
        .exec()
        .catch(() => this.#store.countError());
    };
    return {
      role: 'lead',
      streaming: () => add('t', 's'),
      chunk: (text) => add('t', 'c', 'd', text),
      // A stream's chunks went out already: its end carries usage and freshness; any other entry (JSON, an HTTP service's answer) goes whole.
      finish: (entry) => (entry.format === 'stream' ? end('t', 'e', 'u', JSON.stringify(entry.usage), 'f', String(entry.freshUntil)) : end('t', 'e', 'd', serializeEntry(entry))),
      fail: () => end('t', 'f'),
    };
  }

  async #follow(key: string, lock: string, flight: Flight, waitMs: number): Promise<boolean> {
    const stream = this.#store.keyOf(key, 'flight');
    const reader = this.#store.blockingClient();
    const deadline = Date.now() + waitMs;
    let last = '0';
    let started = false;
    let resolveStarted!: (v: boolean) => void;
    const startedP = new Promise<boolean>((resolve) => (resolveStarted = resolve));
    const run = async (): Promise<void> => {
      for (;;) {
        const left = deadline - Date.now();
        // Once the answer started, the stream is followed to its end whatever the wait.
        if (!started && left <= 0) return;
        const block = started ? 1000 : Math.max(1, Math.min(left, 1000));
        const res = (await reader.xread('COUNT', 1000, 'BLOCK', block, 'STREAMS', stream, last)) as [string, [string, string[]][]][] | null;
        if (res === null) {
          // Nothing new: if the leader's lock is gone without an end, the leader died.
          if ((await this.#store.client.exists(lock)) === 0 && (await this.#store.client.exists(stream)) === 0) return;
          continue;
        }
        for (const [id, fields] of res[0]?.[1] ?? []) {
          last = id;
          const ev = fieldMap(fields);
          if (ev.t === 's') {
            flight.start('stream');
            started = true;
            resolveStarted(true);
          } else if (ev.t === 'c' && ev.d !== undefined) {
            flight.push(ev.d);
          } else if (ev.t === 'e') {
            const entry = ev.d !== undefined ? parseEntry(ev.d) : streamEntry(flight, ev.u, ev.f);
            if (entry === null) return;
            flight.finish(entry);
            resolveStarted(true);
            return;
          } else if (ev.t === 'f') {
            return;
          }
        }
      }
    };
    void run()
      .catch(() => this.#store.countError())
      .finally(() => {
        // Ended without an answer: followers already streaming see a failure; the others go upstream.
        if (!flight.settled && started) flight.fail();
        resolveStarted(false);
        reader.disconnect();
      });
    return startedP;
  }
}

/** SCANs one server for `match`, deleting each batch found; the number deleted. */
async function purgeNode(node: Redis, match: string, unlink: (keys: string[]) => Promise<number>): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) n += await unlink(keys);
  } while (cursor !== '0');
  return n;
}

function fieldMap(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}
