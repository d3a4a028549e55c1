import type { Clock } from '../lib/clock.js';
import { RollingCounter } from './window.js';

/**
 * Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
 * Blog): `random() * min(maxMs, baseMs * 2 ** attempt)`. Attempt 0 is the first retry. Full
 * jitter spreads clients that failed together, so their retries do not arrive together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  if (!(Number.isInteger(attempt) && attempt >= 0)) throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  if (!(Number.isFinite(baseMs) && baseMs >= 0)) throw new RangeError(`baseMs must be a non-negative finite number, got ${baseMs}`);
  if (!(Number.isFinite(maxMs) && maxMs >= 0)) throw new RangeError(`maxMs must be a non-negative finite number, got ${maxMs}`);
  // 2 ** attempt overflows to Infinity for large attempts; 0 * Infinity would be NaN.
  const ceiling = baseMs === 0 ? 0 : Math.min(maxMs, baseMs * 2 ** attempt);
  return random() * ceiling;
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^([A-Za-z]{6,9}), (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^([A-Za-z]{3}) ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
// delta-seconds is 1*DIGIT; a fraction is accepted too, as some providers send "0.5".
const DELTA_SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * Parses a Retry-After header value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
 * Returns milliseconds from `nowMs` (a date in the past gives 0), or null when the value is
 * absent or not valid. Leniencies: surrounding whitespace, fractional seconds, and day and
 * month names in any letter case; the day name is not checked against the date.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (DELTA_SECONDS.test(v)) {
    const ms = Number(v) * 1000;
    return Number.isFinite(ms) ? Math.round(ms) : null;
  }
  const at = parseHttpDate(v, nowMs);
  return at === null ? null : Math.max(0, at - nowMs);
}

function parseHttpDate(v: string, nowMs: number): number | null {
  let m = IMF_FIXDATE.exec(v);
  if (m !== null) {
    if (!isName(DAYS, m[1]!)) return null;
    return utc(Number(m[4]), m[3]!, Number(m[2]), m[5]!, m[6]!, m[7]!);
  }
  m = RFC850_DATE.exec(v);
  if (m !== null) {
    if (!isName(LONG_DAYS, m[1]!)) return null;
    return utc(fullYear(Number(m[4]), nowMs), m[3]!, Number(m[2]), m[5]!, m[6]!, m[7]!);
  }
  m = ASCTIME_DATE.exec(v);
  if (m !== null) {
    if (!isName(DAYS, m[1]!)) return null;
    return utc(Number(m[7]), m[2]!, Number(m[3]!.trim()), m[4]!, m[5]!, m[6]!);
  }
  return null;
}

function isName(names: readonly string[], s: string): boolean {
  return names.some((n) => n.toLowerCase() === s.toLowerCase());
}

/** RFC 9110: a two-digit year more than 50 years in the future is the most recent past year with those digits. */
function fullYear(yy: number, nowMs: number): number {
  const current = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

function utc(year: number, monthName: string, day: number, hh: string, mm: string, ss: string): number | null {
  const month = MONTHS.findIndex((n) => n.toLowerCase() === monthName.toLowerCase());
  const h = Number(hh);
  const min = Number(mm);
  const s = Number(ss);
  if (month < 0 || h > 23 || min > 59 || s > 60 || day < 1) return null;
  // 60 is a leap second, which Date does not have: build :59 and add the second afterwards.
  const d = new Date(Date.UTC(year, month, day, h, min, Math.min(s, 59)));
  // Date.UTC rolls 31 Feb over into March; such a date is invalid, not a different day.
  if (d.getUTCMonth() !== month || d.getUTCDate() !== day) return null;
  return d.getTime() + (s === 60 ? 1000 : 0);
}

export interface RetryBudgetOptions {
  /** Retries may be at most this share of first attempts in the window (0.2 = 20 %). */
  ratio: number;
  /** Floor, so a quiet target can still retry: this many retries per second of window. */
  minPerSecond: number;
  windowMs: number;
}

const BUDGET_BUCKETS = 10;

/**
 * A retry budget (Envoy's retry budgets, Finagle's RetryBudget), so retries add at most a
 * share of the load and a struggling upstream is not buried under them. A retry is allowed
 * while retries in the window < max(minPerSecond * windowMs / 1000, ratio * requests in the
 * window): the larger of the floor and the share (as Envoy), not their sum (as Finagle).
 *
 * Both counters are bucketed (see RollingCounter): an event counts for between `windowMs` and
 * `windowMs * 1.1`.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #clock: Clock;
  readonly #requests: RollingCounter;
  readonly #retries: RollingCounter;

  constructor(options: RetryBudgetOptions, clock: Clock) {
    const { ratio, minPerSecond, windowMs } = options;
    if (!(Number.isFinite(ratio) && ratio >= 0)) throw new RangeError(`ratio must be a non-negative finite number, got ${ratio}`);
    if (!(Number.isFinite(minPerSecond) && minPerSecond >= 0)) {
      throw new RangeError(`minPerSecond must be a non-negative finite number, got ${minPerSecond}`);
    }
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`windowMs must be a positive finite number, got ${windowMs}`);
    this.#ratio = ratio;
    this.#floor = (minPerSecond * windowMs) / 1000;
    this.#clock = clock;
    this.#requests = new RollingCounter(windowMs, BUDGET_BUCKETS);
    this.#retries = new RollingCounter(windowMs, BUDGET_BUCKETS);
  }

  /** Call for every first attempt (not for retries). */
  recordRequest(): void {
    this.#requests.add(this.#clock.monotonic(), 1);
  }

  /** Takes one retry from the budget; false means do not retry. */
  tryWithdraw(): boolean {
    const now = this.#clock.monotonic();
    const allowed = Math.max(this.#floor, this.#ratio * this.#requests.total(now));
    // The epsilon absorbs float error (0.1 * 30 is 3.0000000000000004, which must allow 3, not 4).
    if (!(this.#retries.total(now) < allowed - 1e-9)) return false;
    this.#retries.add(now, 1);
    return true;
  }
}
