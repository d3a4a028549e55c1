import type { CompiledTarget } from '../config/compile.js';
import type { LimitRule, LimiterStore } from '../stores/types.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * A target's provider limits (`targets[].limits`: rpm, tpm, rpd) counted in the state store,
 * so they hold across every instance that shares it (seed 001: "gpt-4o 500 RPM, 150k TPM, 10k
 * RPD across instances"). Each instance's capacity gate (routing/capacity.ts) still paces and
 * queues its own share; this is the total. Checked per upstream attempt, after the local gate:
 * a target over its total is skipped like a saturated one, and the dispatcher waits, falls
 * back or serves stale (routing/dispatch.ts). A store that fails does not stop traffic: the
 * attempt goes on, and the provider's own 429 is handled as before.
 */
export class SharedTargetLimits {
  readonly #store: LimiterStore;
  readonly #rules: LimitRule[];
  /** Index of the token rule in #rules, or -1. */
  readonly #tokens: number;

  private constructor(store: LimiterStore, rules: LimitRule[], tokens: number) {
    this.#store = store;
    this.#rules = rules;
    this.#tokens = tokens;
  }

  /** The shared limits of `target` on route `route`; null when it has none. */
  static of(route: string, label: string, target: CompiledTarget, store: LimiterStore): SharedTargetLimits | null {
    const rules: LimitRule[] = [];
    const key = `target:${route}:${label}`;
    if (target.rpm !== null) rules.push({ key: `${key}:rpm`, limit: target.rpm, windowMs: MINUTE_MS, burst: target.rpm });
    let tokens = -1;
    if (target.tpm !== null) {
      tokens = rules.length;
      rules.push({ key: `${key}:tpm`, limit: target.tpm, windowMs: MINUTE_MS, burst: target.tpm });
    }
    if (target.rpd !== null) rules.push({ key: `${key}:rpd`, limit: target.rpd, windowMs: DAY_MS, burst: target.rpd });
    return rules.length === 0 ? null : new SharedTargetLimits(store, rules, tokens);
  }

  /**
   * Takes one request and `tokens` (the estimate) from every rule, all or nothing. Resolves 0
   * when taken, else the milliseconds until it could be (Infinity when `tokens` exceeds the
   * tpm: never).
   */
  async take(tokens: number): Promise<number> {
    const costs = this.#rules.map((_, i) => (i === this.#tokens ? Math.min(tokens, this.#rules[i]!.burst) : 1));
    let results;
    try {
      results = await this.#store.consume(this.#rules, costs);
    } catch {
      return 0;
    }
    const denied = results.filter((r) => !r.allowed);
    if (denied.length === 0) return 0;
    const granted = results.map((r, i) => (r.allowed ? i : -1)).filter((i) => i >= 0);
    if (granted.length > 0) {
      await this.#store.adjust(
        granted.map((i) => this.#rules[i]!),
        granted.map((i) => costs[i]!),
      ).catch(() => {});
    }
    return Math.max(...denied.map((r) => r.retryAfterMs));
  }

  /** Settles the token rule to the real usage once known (gives back an over-estimate, charges an under-estimate). */
  correct(estimated: number, actual: number | undefined): void {
    if (this.#tokens === -1 || actual === undefined || !Number.isFinite(actual)) return;
    const delta = Math.min(estimated, this.#rules[this.#tokens]!.burst) - Math.max(0, actual);
    if (delta !== 0) this.#store.adjust([this.#rules[this.#tokens]!], [delta]).catch(() => {});
  }

  /** Gives back what `take` took, for an attempt that was never sent. */
  giveBack(tokens: number): void {
    const costs = this.#rules.map((_, i) => (i === this.#tokens ? Math.min(tokens, this.#rules[i]!.burst) : 1));
    this.#store.adjust(this.#rules, costs).catch(() => {});
  }
}
