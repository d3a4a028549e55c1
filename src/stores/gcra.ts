import type { LimitResult, LimitRule } from './types.js';

/**
 * GCRA (generic cell rate algorithm) in exact integer arithmetic, shared by the memory store
 * and (mirrored in Lua) the Redis store. See docs/limits.md.
 *
 * Time is counted in ticks: one ms is `perMs` ticks and one unit's emission interval
 * T = windowMs / limit ms is `perUnit` ticks (both divided by gcd(limit, windowMs)), so every
 * quantity is an integer and 60000/37 ms never accumulates rounding error. The state is the
 * theoretical arrival time TAT, stored as whole ms plus leftover ticks; the bucket `level` at
 * `now` is TAT - now in ticks (0 when TAT is past). A cost of n units is admitted when
 * level + n·perUnit <= capacity = burst·perUnit, i.e. TAT + n·T - now <= τ + T with
 * τ = (burst - 1)·T.
 */

/**
 * Doubles (and Redis's Lua numbers) hold integers exactly below 2^53; floor/ceil of a
 * quotient stays exact below 2^52. Capacities and single charges are kept under 2^48 and
 * levels (debt included) are clamped at 2^50, which leaves room for every sum.
 */
export const MAX_CHARGE_TICKS = 2 ** 48;
export const MAX_LEVEL_TICKS = 2 ** 50;

/** A rule compiled to tick arithmetic. */
export interface GcraParams {
  readonly limit: number;
  readonly burst: number;
  /** Ticks per millisecond. */
  readonly perMs: number;
  /** Ticks per unit: the emission interval T. */
  readonly perUnit: number;
  /** burst·perUnit: the most the level may reach by admitting. */
  readonly capacity: number;
}

/** A theoretical arrival time: `ms` + `ticks`/perMs milliseconds, 0 <= ticks < perMs. */
export interface Tat {
  readonly ms: number;
  readonly ticks: number;
}

export function compileRule(rule: LimitRule): GcraParams {
  const { key, limit, windowMs, burst } = rule;
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('limit rule: key must be a non-empty string');
  if (!isPositiveInteger(limit)) throw new RangeError(`limit rule "${key}": limit must be a positive integer, got ${String(limit)}`);
  if (!isPositiveInteger(windowMs)) throw new RangeError(`limit rule "${key}": windowMs must be a positive integer, got ${String(windowMs)}`);
  if (!isPositiveInteger(burst)) throw new RangeError(`limit rule "${key}": burst must be a positive integer, got ${String(burst)}`);
  const g = gcd(limit, windowMs);
  const perMs = limit / g;
  const perUnit = windowMs / g;
  const capacity = burst * perUnit;
  if (capacity > MAX_CHARGE_TICKS) {
    throw new RangeError(`limit rule "${key}": burst × windowMs / gcd(limit, windowMs) must stay below 2^48, got ${capacity}`);
  }
  return { limit, burst, perMs, perUnit, capacity };
}

/** Throws unless `cost` is a non-negative integer whose charge stays exact. */
export function checkCost(params: GcraParams, cost: number, key: string): void {
  if (!Number.isSafeInteger(cost) || cost < 0 || cost * params.perUnit > MAX_CHARGE_TICKS) {
    throw new RangeError(`limit rule "${key}": cost must be a non-negative integer below the exact range, got ${String(cost)}`);
  }
}

/** Throws unless `delta` is an integer (either sign) whose charge stays exact. */
export function checkDelta(params: GcraParams, delta: number, key: string): void {
  if (!Number.isSafeInteger(delta) || Math.abs(delta) * params.perUnit > MAX_CHARGE_TICKS) {
    throw new RangeError(`limit rule "${key}": delta must be an integer below the exact range, got ${String(delta)}`);
  }
}

export function checkLengths(rules: readonly LimitRule[], values: readonly number[], what: string): void {
  if (rules.length !== values.length) throw new RangeError(`${what}: ${rules.length} rules but ${values.length} values`);
}

/** The level (ticks, >= 0) at `now` of a bucket whose TAT is `tat` (null: idle). */
export function levelAt(tat: Tat | null, now: number, perMs: number): number {
  if (tat === null) return 0;
  const level = (tat.ms - now) * perMs + tat.ticks;
  return level > 0 ? level : 0;
}

/** The TAT of a bucket at `level` ticks at `now`. */
export function tatOf(level: number, now: number, perMs: number): Tat {
  const whole = Math.floor(level / perMs);
  return { ms: now + whole, ticks: level - whole * perMs };
}

/** When the bucket at `level` drains to empty: the time its state may be forgotten. */
export function drainedAt(level: number, now: number, perMs: number): number {
  return now + Math.ceil(level / perMs);
}

/** The level after adding `delta` units back (negative: charging more), within [0, MAX_LEVEL_TICKS]. */
export function adjustedLevel(level: number, delta: number, perUnit: number): number {
  const next = level - delta * perUnit;
  return next <= 0 ? 0 : Math.min(next, MAX_LEVEL_TICKS);
}

/** The result for a decision; `level` is the level after it (the admitted charge included). */
export function resultOf(params: GcraParams, allowed: boolean, level: number, cost: number): LimitResult {
  const free = params.capacity - level;
  let retryAfterMs = 0;
  if (!allowed) retryAfterMs = cost > params.burst ? Number.POSITIVE_INFINITY : Math.ceil((cost * params.perUnit - free) / params.perMs);
  return {
    allowed,
    limit: params.limit,
    remaining: free > 0 ? Math.floor(free / params.perUnit) : 0,
    resetMs: Math.ceil(level / params.perMs),
    retryAfterMs,
  };
}

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
