/**
 * The open-loop arrival schedule: when request i is due, computed from the run's start time
 * alone. Nothing here depends on when earlier requests finished, which is what keeps a slow
 * target from slowing the arrivals down (coordinated omission).
 *
 * The rate r(t) is piecewise linear (the stages); the expected number of arrivals by time t is
 * N(t) = ∫₀ᵗ r. Request i is due at the t where N(t) = i, so request 0 is due at once and a
 * constant rate r gives t_i = i / r exactly.
 */
import type { Stage } from './stages.js';

interface Segment {
  readonly startMs: number;
  readonly durationMs: number;
  /** Rates at both ends, in requests per millisecond. */
  readonly fromPerMs: number;
  readonly toPerMs: number;
  /** Expected arrivals before this segment, and within it. */
  readonly before: number;
  readonly count: number;
}

export class ArrivalSchedule {
  readonly #segments: Segment[] = [];
  /** Length of the schedule in ms (the stages, cut at the duration limit). */
  readonly durationMs: number;
  /** Expected arrivals over the whole schedule (fractional). */
  readonly expected: number;
  /** Requests the schedule starts: the integers i with N(t_i) = i inside the schedule. */
  readonly requests: number;

  /**
   * @param stages rates ramp linearly from the previous stage's rate, from 0 before the first
   * @param limitMs cuts the schedule short (a --duration shorter than the stages)
   */
  constructor(stages: readonly Stage[], limitMs: number = Number.POSITIVE_INFINITY) {
    let t = 0;
    let before = 0;
    let prevRate = 0;
    for (const stage of stages) {
      if (t >= limitMs) break;
      let durationMs = stage.durationMs;
      let toRate = stage.rate;
      if (t + durationMs > limitMs) {
        // Cut inside a ramp: the rate where the cut falls, by linear interpolation.
        const kept = limitMs - t;
        toRate = prevRate + ((stage.rate - prevRate) * kept) / durationMs;
        durationMs = kept;
      }
      const fromPerMs = prevRate / 1000;
      const toPerMs = toRate / 1000;
      const count = ((fromPerMs + toPerMs) / 2) * durationMs;
      this.#segments.push({ startMs: t, durationMs, fromPerMs, toPerMs, before, count });
      t += durationMs;
      before += count;
      prevRate = toRate;
    }
    this.durationMs = t;
    this.expected = before;
    // i is inside when i < N(end); the tiny epsilon absorbs float error on exact totals.
    this.requests = before <= 0 ? 0 : Math.ceil(before - 1e-9);
  }

  /** Milliseconds after the start at which request i (0-based) is due; null past the end. */
  timeOf(i: number): number | null {
    if (i < 0 || i >= this.requests) return null;
    for (const seg of this.#segments) {
      if (seg.count <= 0 || i >= seg.before + seg.count) continue;
      const c = Math.max(0, i - seg.before);
      if (c === 0) return seg.startMs;
      // Solve r0·s + k·s²/2 = c for s in [0, duration], k the slope. The form
      // 2c / (r0 + √(r0² + 2kc)) is the root without cancellation, and holds for k = 0.
      const k = (seg.toPerMs - seg.fromPerMs) / seg.durationMs;
      const disc = Math.max(0, seg.fromPerMs * seg.fromPerMs + 2 * k * c);
      const s = (2 * c) / (seg.fromPerMs + Math.sqrt(disc));
      return seg.startMs + Math.min(s, seg.durationMs);
    }
    // Float error at the very end of the last segment.
    return this.durationMs;
  }

  /** The scheduled arrival rate (req/s) at time t, for charts and progress. */
  rateAt(tMs: number): number {
    for (const seg of this.#segments) {
      if (tMs < seg.startMs || tMs > seg.startMs + seg.durationMs) continue;
      if (seg.durationMs === 0) continue;
      const f = (tMs - seg.startMs) / seg.durationMs;
      return (seg.fromPerMs + (seg.toPerMs - seg.fromPerMs) * f) * 1000;
    }
    return 0;
  }

  /** Expected arrivals by time t (the integral of the rate). */
  expectedBy(tMs: number): number {
    let n = 0;
    for (const seg of this.#segments) {
      if (tMs <= seg.startMs) break;
      const s = Math.min(tMs - seg.startMs, seg.durationMs);
      const k = seg.durationMs === 0 ? 0 : (seg.toPerMs - seg.fromPerMs) / seg.durationMs;
      n = seg.before + seg.fromPerMs * s + (k * s * s) / 2;
    }
    return n;
  }
}
