import type { Row } from './types.js';

/** What the embedded database's thread is started with. */
export interface ThreadStart {
  /** Data folder; null keeps the database in memory. */
  readonly dataDir: string | null;
}

/** A request to the thread; `id` pairs it with its reply (0 is the thread's "ready"). */
export type ThreadRequest =
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[] }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  | { readonly id: number; readonly op: 'insertJson'; readonly sql: string; readonly fields: readonly string[]; readonly lines: readonly string[] }
  | { readonly id: number; readonly op: 'close' };

export type ThreadReply =
  | { readonly id: number; readonly rows: Row[]; readonly error?: undefined }
  | { readonly id: number; readonly error: { readonly message: string; readonly fields: Record<string, string | number> } };
