/** A row as returned by a query: column name → value. */
export type Row = Record<string, unknown>;

/** Which SQL a database speaks; the few statements that differ are chosen by it. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * The database contract: parameterised SQL (`$1`, `$2` …) against embedded SQLite or a
 * PostgreSQL server. Most statements are written once in the SQL both accept; where they
 * differ (types, JSON, time functions, migrations) the caller picks by `kind`.
 */
export interface Database {
  readonly kind: Dialect;
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `sql` once per JSON object in `lines`, `$i` bound to the field named `fields[i - 1]`,
   * all in one transaction (a line that is not an object, or that the statement refuses,
   * rolls back the whole batch); resolves with how many rows changed. Embedded SQLite only:
   * parsing each record in JavaScript and running one prepared statement is 3× cheaper
   * there than expanding a JSON array in SQL (bench/embedded-db.mjs).
   */
  insertJson?(sql: string, fields: readonly string[], lines: readonly string[]): Promise<number>;
  /** Runs `fn` in a transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
