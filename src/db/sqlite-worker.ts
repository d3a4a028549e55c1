import { Worker } from 'node:worker_threads';
import { StartupError } from './startup-error.js';
import type { ThreadReply, ThreadRequest, ThreadStart } from './sqlite-protocol.js';
import type { Database, Row } from './types.js';

type Pending = { resolve: (rows: Row[]) => void; reject: (err: Error) => void };
type Op =
  | { op: 'query'; sql: string; params: readonly unknown[] }
  | { op: 'insertJson'; sql: string; fields: readonly string[]; lines: readonly string[] }
  | { op: 'exec'; sql: string }
  | { op: 'close' };

/**
 * The embedded database (SQLite) on a thread of its own (sqlite-thread.ts). SQLite runs
 * synchronously on the calling thread; here the gateway only posts each statement and its
 * parameters (structured clone) and awaits the rows, so a usage batch or a large report
 * never stalls the event loop.
 *
 * The thread answers in order on its one connection. A transaction therefore holds every
 * other statement back until it ends.
 */
export class SqliteThreadDatabase implements Database {
  readonly kind = 'sqlite' as const;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the thread is gone: every later call fails with it. */
  #failure: Error | null = null;
  /** The end of the transaction in progress; statements outside it wait for it. */
  #transaction: Promise<unknown> = Promise.resolve();

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: ThreadReply) => this.#settle(reply));
    worker.on('error', (err) => this.#fail(new Error(`the embedded database stopped: ${err.message}`)));
    worker.on('exit', (code) => this.#fail(new Error(`the embedded database stopped (thread exit ${code})`)));
    // The thread keeps the process alive only while it has work to answer.
    worker.unref();
  }

  /** Starts the thread and waits until SQLite is open (or failed to open). */
  static async open(dataDir: string | null): Promise<SqliteThreadDatabase> {
    const start: ThreadStart = { dataDir };
    const worker = new Worker(new URL('./sqlite-thread.js', import.meta.url), { workerData: start });
    const db = new SqliteThreadDatabase(worker);
    try {
      await db.#await(0);
    } catch (err) {
      await worker.terminate();
      const sqliteCode = (err as { sqliteCode?: unknown }).sqliteCode;
      if (dataDir !== null && (sqliteCode === 'SQLITE_BUSY' || sqliteCode === 'SQLITE_LOCKED')) {
        throw new StartupError(
          `the data folder ${dataDir} is in use by another Sluice process; give each gateway its own database.dataDir, or run several gateways on one PostgreSQL server (database.url)`,
        );
      }
      throw err;
    }
    return db;
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.#transaction.then(() => this.#send({ op: 'query', sql, params })) as Promise<T[]>;
  }

  async insertJson(sql: string, fields: readonly string[], lines: readonly string[]): Promise<number> {
    const rows = await this.#transaction.then(() => this.#send({ op: 'insertJson', sql, fields, lines }));
    return (rows[0] as { n: number }).n;
  }

  async exec(sql: string): Promise<void> {
    await this.#transaction.then(() => this.#send({ op: 'exec', sql }));
  }

  transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T> {
    const run = this.#transaction.then(async () => {
      await this.#send({ op: 'exec', sql: 'BEGIN' });
      try {
        const out = await fn({
          query: <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => this.#send({ op: 'query', sql, params }) as Promise<R[]>,
          exec: async (sql: string) => {
            await this.#send({ op: 'exec', sql });
          },
        });
        await this.#send({ op: 'exec', sql: 'COMMIT' });
        return out;
      } catch (err) {
        await this.#send({ op: 'exec', sql: 'ROLLBACK' }).catch(() => {});
        throw err;
      }
    });
    this.#transaction = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.#failure !== null) return;
    await this.#transaction;
    await this.#send({ op: 'close' });
    await this.#worker.terminate();
  }

  #send(op: Op): Promise<Row[]> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const message: ThreadRequest = { id, ...op };
    const rows = this.#await(id);
    this.#worker.postMessage(message);
    return rows;
  }

  #await(id: number): Promise<Row[]> {
    return new Promise<Row[]>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
    });
  }

  #settle(reply: ThreadReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.error === undefined) pending.resolve(reply.rows);
    else pending.reject(Object.assign(new Error(reply.error.message), reply.error.fields));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const p of this.#pending.values()) p.reject(this.#failure);
    this.#pending.clear();
  }
}
