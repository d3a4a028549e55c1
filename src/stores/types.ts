/**
 * The shared-state contracts behind limits, concurrency caps and budgets (issue 4). Each has
 * one to four methods; `test/stores/contract.ts` runs the same suite against every
 * implementation (memory, Redis). Times are read from the caller's `Clock`, never from Redis,
 * so every implementation decides identically for the same clock; see docs/limits.md.
 */

/** One limit: `limit` units per `windowMs`, at most `burst` of them at once. */
export interface LimitRule {
  /** e.g. "key:abc:rpm"; the store adds its own prefix and hash tag. */
  readonly key: string;
  /** Units per window (requests, tokens, …); a positive integer. */
  readonly limit: number;
  /** A positive integer. */
  readonly windowMs: number;
  /** Units that may be taken at once (from an idle bucket); set it to `limit` for "limit per window". */
  readonly burst: number;
}

export interface LimitResult {
  readonly allowed: boolean;
  readonly limit: number;
  /** Units available right now after this decision (floor, >= 0). */
  readonly remaining: number;
  /** Ms until the bucket is full again (for the RateLimit header's reset). */
  readonly resetMs: number;
  /**
   * 0 when allowed; else ms until `cost` units would be allowed if nobody else consumed.
   * `Infinity` when the cost exceeds the rule's burst: such a request can never be admitted
   * (check `cost > rule.burst` first and answer with a non-retryable error).
   */
  readonly retryAfterMs: number;
}

export interface LimiterStore {
  /**
   * Decides each rule independently and atomically, in one round trip; `costs[i]` (a
   * non-negative integer) is the cost under `rules[i]`. A rule only consumes when it allows.
   */
  consume(rules: readonly LimitRule[], costs: readonly number[]): Promise<LimitResult[]>;
  /**
   * Adds `deltas[i]` units back to rule i (negative = charge more, e.g. a token correction once
   * the real usage is known; a bucket may go into debt). Also undoes the rules that allowed
   * when another rule of the same request denied.
   */
  adjust(rules: readonly LimitRule[], deltas: readonly number[]): Promise<void>;
}

export interface ConcurrencyStore {
  /**
   * Takes a slot if fewer than `limit` are held. A slot not released within `leaseMs` expires
   * (a crashed instance), so `leaseMs` must exceed the longest request. Returns a lease id, or
   * null when every slot is taken.
   */
  acquire(key: string, limit: number, leaseMs: number): Promise<string | null>;
  /** Frees the slot; an unknown or expired lease is ignored. */
  release(key: string, lease: string): Promise<void>;
}

export interface CounterStore {
  /** Adds `amount` (a float, e.g. USD) to `key`'s counter, which expires `ttlMs` after its first write; returns the new total. */
  add(key: string, amount: number, ttlMs: number): Promise<number>;
  /** The current total; 0 for a missing or expired counter. */
  get(key: string): Promise<number>;
}

/**
 * Marks: a number per key that only rises while it lives (session revocations: "refuse tokens
 * issued before this time"). Raising is atomic, so concurrent writers end at the largest value.
 */
export interface MarkStore {
  /** Sets `key`'s mark to `value` unless it holds a larger one; a raised mark expires `ttlMs` later. */
  mark(key: string, value: number, ttlMs: number): Promise<void>;
  /** Each key's mark, null for a missing or expired one; one round trip for all of them. */
  marks(keys: readonly string[]): Promise<(number | null)[]>;
}

export interface StateStore extends LimiterStore, ConcurrencyStore, CounterStore, MarkStore {
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
