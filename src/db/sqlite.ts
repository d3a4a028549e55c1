import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Row } from './types.js';

/** The database file inside the data folder. */
export const DATABASE_FILE = 'sluice.db';

/** A statement with `$n` placeholders rewritten for SQLite, and the order its values bind in. */
interface Prepared {
  readonly statement: BetterSqlite3.Statement;
  /** 0-based parameter index for each `?`, in order (a `$n` used twice binds twice). */
  readonly order: readonly number[];
}

const STATEMENT_CACHE = 256;

/**
 * SQLite's answer to an error, with the PostgreSQL SQLSTATE class it corresponds to, so the
 * callers judge both databases alike: 23 (integrity: a required field missing, a duplicate
 * key) and 22 (data exception: not JSON, a value of the wrong type for a STRICT column).
 */
export function sqlstate(sqliteCode: string, message: string): string | null {
  if (sqliteCode === 'SQLITE_CONSTRAINT_DATATYPE') return '22P02';
  if (sqliteCode === 'SQLITE_CONSTRAINT_NOTNULL') return '23502';
  if (sqliteCode === 'SQLITE_CONSTRAINT_PRIMARYKEY' || sqliteCode === 'SQLITE_CONSTRAINT_UNIQUE') return '23505';
  if (sqliteCode.startsWith('SQLITE_CONSTRAINT')) return '23000';
  if (sqliteCode === 'SQLITE_ERROR' && /malformed JSON/i.test(message)) return '22P02';
  if (sqliteCode === 'SQLITE_TOOBIG' || sqliteCode === 'SQLITE_MISMATCH') return '22000';
  return null;
}

/** A parameter as SQLite stores it: booleans as 0/1, times as ISO text, arrays and objects as JSON text. */
function bindable(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && !Buffer.isBuffer(v)) return JSON.stringify(v);
  return v;
}

/** A data exception (SQLSTATE 22P02, as PostgreSQL reports bad JSON input). */
function badInput(message: string): Error {
  return Object.assign(new Error(message), { code: '22P02' });
}

function parseObject(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badInput('invalid input syntax for type json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput('a record is not a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Embedded SQLite (better-sqlite3) in `<dataDir>/sluice.db`, or in memory when `dataDir` is
 * null. Synchronous: it runs on the database's own thread (sqlite-thread.ts), never on the
 * gateway's. WAL journal; the connection holds the file's lock exclusively from open to
 * close, so a second process on the same folder fails at start instead of sharing it.
 */
export class SqliteConnection {
  readonly #db: BetterSqlite3.Database;
  readonly #statements = new Map<string, Prepared>();

  private constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  static open(dataDir: string | null): SqliteConnection {
    if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
    const db = new BetterSqlite3(dataDir === null ? ':memory:' : join(dataDir, DATABASE_FILE), { timeout: 200 });
    try {
      // Exclusive before WAL: the WAL index then lives in this process's memory (no -shm
      // file) and the first read takes the file's lock until close. The OS releases it when
      // the process dies, so a killed gateway never leaves the folder locked.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses no committed transaction on a process crash, only (maybe) the
      // last ones on a power loss; the usage spool keeps records until their batch commits.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Takes the lock now (BEGIN EXCLUSIVE), so "in use" is reported at start.
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteConnection(db);
  }

  /** Whether `dataDir` already holds a database file (a restart rather than a first start). */
  static exists(dataDir: string): boolean {
    return existsSync(join(dataDir, DATABASE_FILE));
  }

  query(sql: string, params: readonly unknown[]): Row[] {
    const { statement, order } = this.#prepare(sql);
    const values = order.map((i) => bindable(params[i]));
    if (statement.reader) return statement.all(values) as Row[];
    statement.run(values);
    return [];
  }

  /** See `Database.insertJson`. */
  insertJson(sql: string, fields: readonly string[], lines: readonly string[]): number {
    const { statement, order } = this.#prepare(sql);
    const names = order.map((i) => fields[i]!);
    const values: unknown[] = new Array(names.length);
    return this.#db.transaction(() => {
      let changed = 0;
      for (const line of lines) {
        const record = parseObject(line);
        for (let i = 0; i < names.length; i++) values[i] = bindable(record[names[i]!]);
        changed += statement.run(values).changes;
      }
      return changed;
    })();
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  #prepare(sql: string): Prepared {
    let prepared = this.#statements.get(sql);
    if (prepared === undefined) {
      const order: number[] = [];
      // Our SQL has `$` only in placeholders and JSON paths (`'$.a'`), never `$` + digit.
      const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      prepared = { statement: this.#db.prepare(text), order };
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }
}
