import type { Budget } from '../../config/compile.js';
import type { CounterStore } from '../../stores/types.js';

export interface BudgetPeriod {
  readonly key: string;
  readonly limitUsd: number;
  readonly alertAt: number;
  /** Milliseconds until the period ends (UTC). */
  readonly endsInMs: number;
  readonly name: 'daily' | 'monthly';
}

/** The periods of a budget that apply now, with their counter keys (UTC days and months). */
export function budgetPeriods(scope: string, budget: Budget | null, nowMs: number): BudgetPeriod[] {
  if (budget === null) return [];
  const d = new Date(nowMs);
  const out: BudgetPeriod[] = [];
  if (budget.dailyUsd !== null) {
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    out.push({ key: `budget:${scope}:d:${d.toISOString().slice(0, 10)}`, limitUsd: budget.dailyUsd, alertAt: budget.alertAt, endsInMs: end - nowMs, name: 'daily' });
  }
  if (budget.monthlyUsd !== null) {
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    out.push({ key: `budget:${scope}:m:${d.toISOString().slice(0, 7)}`, limitUsd: budget.monthlyUsd, alertAt: budget.alertAt, endsInMs: end - nowMs, name: 'monthly' });
  }
  return out;
}

/** Counters outlive their period by a day, so late corrections land in the right one. */
export const periodTtl = (p: BudgetPeriod): number => p.endsInMs + 86_400_000;

/**
 * Reserves `usd` (the estimate) on every period. A period refuses when it was already spent
 * before this reservation: then everything is given back and that period returned.
 * Reserving before the call (and correcting to the real cost after) is what makes a budget
 * hold across instances: concurrent requests see each other's reservations, so a budget is
 * overrun by at most the one request that crossed it.
 */
export async function reserve(store: CounterStore, periods: readonly BudgetPeriod[], usd: number): Promise<BudgetPeriod | null> {
  if (periods.length === 0) return null;
  const totals = await Promise.all(periods.map((p) => store.add(p.key, usd, periodTtl(p))));
  const over = periods.findIndex((p, i) => totals[i]! - usd >= p.limitUsd);
  if (over === -1) return null;
  await Promise.all(periods.map((p) => store.add(p.key, -usd, periodTtl(p))));
  return periods[over]!;
}
