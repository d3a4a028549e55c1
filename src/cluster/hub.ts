import { randomUUID } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import type { Database } from '../db/types.js';
import type { Clock } from '../lib/clock.js';
import { parseEntry, serializeEntry } from '../policies/cache/entry.js';
import type { PurgeFilter } from '../policies/cache/key.js';
import { MemoryResponseStore } from '../policies/cache/memory.js';
import type { LimitRule, StateStore } from '../stores/types.js';
import type { ClaimReply } from './cache.js';
import { fromWire, toWire, type FlightEvent, type ToPrimary, type ToWorker } from './protocol.js';

/** How the hub reaches one worker. */
export interface WorkerLink {
  readonly id: number;
  send(message: ToWorker): void;
}

export interface HubOptions {
  readonly clock: Clock;
  /** The shared state store; null when the workers share Redis instead. */
  readonly state: StateStore | null;
  /** The shared response cache's size; null when the workers cache in Redis (or nothing caches). */
  readonly cacheMaxBytes: number | null;
  /** How long a leader holds a key's lock unless it ends its flight (a hung leader frees it after this). */
  readonly leaseMs: number;
  /** The embedded database the workers send their statements to; null with PostgreSQL or no database. */
  readonly db: Database | null;
  /** How long /metrics waits for every worker's figures. */
  readonly metricsTimeoutMs: number;
}

interface FlightLock {
  readonly token: string;
  readonly owner: number;
  readonly events: FlightEvent[];
  /** `${worker}:${fid}` → the follower's worker and id. */
  readonly followers: Map<string, { readonly worker: number; readonly fid: number }>;
  readonly timer: NodeJS.Timeout;
}

interface OpenTransaction {
  readonly owner: number;
  readonly tx: Pick<Database, 'query' | 'exec'>;
  end(commit: boolean): Promise<void>;
}

/** Thrown inside a worker's transaction to roll it back. */
class Rollback extends Error {}

/**
 * The cluster primary's shared parts (`server.workers`): the one in-memory state store, the
 * one response cache and its flights, the embedded database, and the aggregated metrics. The
 * primary is single-threaded, so each call is atomic across the workers, as a Lua script is
 * in Redis.
 */
export class Hub {
  readonly #options: HubOptions;
  readonly #workers = new Map<number, WorkerLink>();
  readonly #cache: MemoryResponseStore | null;
  readonly #flights = new Map<string, FlightLock>();
  readonly #transactions = new Map<number, OpenTransaction>();
  #nextTx = 1;
  #nextAsk = 1;
  readonly #asks = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(options: HubOptions) {
    this.#options = options;
    this.#cache = options.cacheMaxBytes === null ? null : new MemoryResponseStore(options.cacheMaxBytes, options.clock);
  }

  attach(link: WorkerLink): void {
    this.#workers.set(link.id, link);
  }

  /** A worker exited: its flights fail (their followers go upstream), its follows end, its open transactions roll back. */
  detach(id: number): void {
    this.#workers.delete(id);
    for (const [key, lock] of this.#flights) {
      if (lock.owner === id) this.#end(key, lock, { t: 'f' });
      else for (const [k, f] of lock.followers) if (f.worker === id) lock.followers.delete(k);
    }
    for (const [txId, open] of this.#transactions) if (open.owner === id) void open.end(false).finally(() => this.#transactions.delete(txId));
  }

  /** One message from worker `id`. */
  receive(id: number, message: ToPrimary): void {
    if (message.sluice === 'answer') {
      const ask = this.#asks.get(message.id);
      if (ask === undefined) return;
      this.#asks.delete(message.id);
      if (message.error === undefined) ask.resolve(message.value);
      else ask.reject(fromWire(message.error));
      return;
    }
    if (message.sluice === 'note') {
      this.#note(id, message.op, message.args);
      return;
    }
    if (message.sluice !== 'call') return;
    const reply = (value: unknown, error?: unknown): void => {
      this.#workers.get(id)?.send(error === undefined ? { sluice: 'reply', id: message.id, value } : { sluice: 'reply', id: message.id, error: toWire(error) });
    };
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(this.#call(id, message.op, message.args));
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    result.then(
      (value) => reply(value),
      (err: unknown) => reply(undefined, err),
    );
  }

  #call(worker: number, op: string, a: readonly unknown[]): unknown {
    switch (op) {
      case 'state.consume':
        return this.#state().consume(a[0] as LimitRule[], a[1] as number[]);
      case 'state.adjust':
        return this.#state().adjust(a[0] as LimitRule[], a[1] as number[]);
      case 'state.acquire':
        return this.#state().acquire(a[0] as string, a[1] as number, a[2] as number);
      case 'state.release':
        return this.#state().release(a[0] as string, a[1] as string);
      case 'state.add':
        return this.#state().add(a[0] as string, a[1] as number, a[2] as number);
      case 'state.get':
        return this.#state().get(a[0] as string);
      case 'state.mark':
        return this.#state().mark(a[0] as string, a[1] as number, a[2] as number);
      case 'state.marks':
        return this.#state().marks(a[0] as string[]);
      case 'state.ping':
        return this.#state().ping();
      case 'cache.get':
        return this.#store()
          .get(a[0] as string)
          .then((e) => (e === null ? null : serializeEntry(e)));
      case 'cache.set': {
        const entry = parseEntry(a[1] as string);
        return entry === null ? undefined : this.#store().set(a[0] as string, entry, a[2] as number);
      }
      case 'cache.purge':
        return this.#store().purge(a[0] as PurgeFilter);
      case 'cache.stats':
        return this.#store().stats();
      case 'flight.claim':
        return this.#claim(worker, a[0] as string, a[1] as number);
      case 'db.query':
        return this.#tx(worker, a[0] as number | null).query(a[1] as string, a[2] as unknown[]);
      case 'db.exec':
        return this.#tx(worker, a[0] as number | null).exec(a[1] as string);
      case 'db.insertJson': {
        const db = this.#db();
        if (db.insertJson === undefined) throw new Error('the database takes no JSON batches');
        return db.insertJson(a[0] as string, a[1] as string[], a[2] as string[]);
      }
      case 'db.begin':
        return this.#begin(worker);
      case 'db.end':
        return this.#endTx(a[0] as number, a[1] === true);
      case 'metrics':
        return this.metrics();
      default:
        throw new Error(`unknown cluster call ${op}`);
    }
  }

  #note(worker: number, op: string, a: readonly unknown[]): void {
    if (op === 'flight.event') {
      const key = a[0] as string;
      const lock = this.#flights.get(key);
      if (lock === undefined || lock.token !== a[1]) return;
      const event = a[2] as FlightEvent | null;
      // null: the claimer found a usable entry and only releases the lock.
      if (event === null || event.t === 'e' || event.t === 'f') this.#end(key, lock, event);
      else this.#publish(lock, event);
    } else if (op === 'flight.unfollow') {
      this.#flights.get(a[0] as string)?.followers.delete(`${worker}:${a[1] as number}`);
    }
  }

  #state(): StateStore {
    if (this.#options.state === null) throw new Error('the workers share Redis, not the primary, for state');
    return this.#options.state;
  }

  #store(): MemoryResponseStore {
    if (this.#cache === null) throw new Error('the workers share Redis, not the primary, for the cache');
    return this.#cache;
  }

  #db(): Database {
    if (this.#options.db === null) throw new Error('the primary holds no embedded database');
    return this.#options.db;
  }

  async #claim(worker: number, key: string, fid: number): Promise<ClaimReply> {
    const held = this.#flights.get(key);
    if (held !== undefined) {
      held.followers.set(`${worker}:${fid}`, { worker, fid });
      // A late follower gets what was published so far, then the rest as it comes.
      const link = this.#workers.get(worker);
      for (const event of held.events) link?.send({ sluice: 'flight', fid, event });
      return { role: 'follow' };
    }
    const token = randomUUID();
    const timer = setTimeout(() => {
      const lock = this.#flights.get(key);
      if (lock?.token === token) this.#end(key, lock, { t: 'f' });
    }, this.#options.leaseMs);
    timer.unref();
    this.#flights.set(key, { token, owner: worker, events: [], followers: new Map(), timer });
    // The lock and the entry are read in one turn: a free lock with an entry means a flight has just ended.
    const entry = await this.#store().get(key);
    return entry === null ? { role: 'lead', token } : { role: 'entry', token, entry: serializeEntry(entry) };
  }

  #publish(lock: FlightLock, event: FlightEvent): void {
    lock.events.push(event);
    for (const f of lock.followers.values()) this.#workers.get(f.worker)?.send({ sluice: 'flight', fid: f.fid, event });
  }

  #end(key: string, lock: FlightLock, event: FlightEvent | null): void {
    clearTimeout(lock.timer);
    this.#flights.delete(key);
    if (event !== null) for (const f of lock.followers.values()) this.#workers.get(f.worker)?.send({ sluice: 'flight', fid: f.fid, event });
  }

  #tx(worker: number, txId: number | null): Pick<Database, 'query' | 'exec'> {
    if (txId === null) return this.#db();
    const open = this.#transactions.get(txId);
    if (open === undefined || open.owner !== worker) throw new Error(`no open transaction ${txId}`);
    return open.tx;
  }

  /** Opens a transaction on the primary's connection and holds it until the worker ends it. */
  #begin(worker: number): Promise<number> {
    const txId = this.#nextTx++;
    let finish!: (commit: boolean) => void;
    const decided = new Promise<boolean>((resolve) => (finish = resolve));
    return new Promise<number>((resolveBegun, rejectBegun) => {
      let begun = false;
      const done = this.#db().transaction(async (tx) => {
        begun = true;
        this.#transactions.set(txId, { owner: worker, tx, end: (commit) => (finish(commit), settled) });
        resolveBegun(txId);
        if (!(await decided)) throw new Rollback('rolled back by the worker');
      });
      // Committed, or rolled back as the worker asked; any other failure reaches `end`'s caller.
      const settled: Promise<void> = done.then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof Rollback) return;
          throw err;
        },
      );
      settled.catch((err: unknown) => {
        if (!begun) rejectBegun(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  async #endTx(txId: number, commit: boolean): Promise<void> {
    const open = this.#transactions.get(txId);
    if (open === undefined) throw new Error(`no open transaction ${txId}`);
    try {
      await open.end(commit);
    } finally {
      this.#transactions.delete(txId);
    }
  }

  /** Every worker's metrics, aggregated (counters and histograms summed; see docs/operations.md). */
  async metrics(): Promise<{ contentType: string; text: string }> {
    const parts = await Promise.all([...this.#workers.values()].map((w) => this.#ask(w)));
    const registry = AggregatorRegistry.aggregate(parts as object[]);
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  #ask(link: WorkerLink): Promise<unknown> {
    const id = this.#nextAsk++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#asks.delete(id);
        reject(new Error(`worker ${link.id} did not send its metrics within ${this.#options.metricsTimeoutMs} ms`));
      }, this.#options.metricsTimeoutMs);
      this.#asks.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      link.send({ sluice: 'ask', id, op: 'metrics' });
    });
  }
}
