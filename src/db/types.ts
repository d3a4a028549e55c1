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
  /** Runs `fn` in a transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
