/** A row as returned by a query: column name → value. */
export type Row = Record<string, unknown>;

/**
 * The database contract: parameterised SQL ($1, $2 …) against PostgreSQL, served by an
 * embedded PGlite or a PostgreSQL server. Both speak the same SQL, so one set of
 * migrations and queries serves both.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Pick<Database, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
