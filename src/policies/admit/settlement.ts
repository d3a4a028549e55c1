import type { BudgetAlert, Settlement, SettlementInputs } from '../../exchange/results.js';
import type { StateStore } from '../../stores/types.js';
import { costUsd, type Price } from '../../tokens/cost.js';
import { periodTtl, type BudgetPeriod } from './budget.js';
import type { ScopedRule } from './rules.js';

export type { BudgetAlert };

/**
 * What a request took at admission, made good when it ends: token limits corrected from the
 * reservation (prompt estimate plus completion bound) to the reported usage (all of it given back when the request failed), the
 * concurrency slot released, the budget reservation corrected to the real cost.
 */
export class AdmissionSettlement implements Settlement {
  readonly #store: StateStore;
  readonly #tokenRules: readonly ScopedRule[];
  /** What each token rule reserved at admission. */
  readonly #reservedTokens: readonly number[];
  readonly #lease: { key: string; id: string } | null;
  readonly #periods: readonly BudgetPeriod[];
  readonly #reservedUsd: number;
  readonly #scope: string;
  readonly #price: (finished: SettlementInputs) => Price | null;

  constructor(
    store: StateStore,
    tokenRules: readonly ScopedRule[],
    reservedTokens: readonly number[],
    lease: { key: string; id: string } | null,
    budget: { scope: string; periods: readonly BudgetPeriod[]; reservedUsd: number },
    price: (finished: SettlementInputs) => Price | null,
  ) {
    this.#store = store;
    this.#tokenRules = tokenRules;
    this.#reservedTokens = reservedTokens;
    this.#lease = lease;
    this.#periods = budget.periods;
    this.#reservedUsd = budget.reservedUsd;
    this.#scope = budget.scope;
    this.#price = price;
  }

  /** Never rejects: a failure to correct is reported, and the request is already answered. */
  async settle(finished: SettlementInputs, onAlert: (a: BudgetAlert) => void): Promise<void> {
    const actualTokens = finished.usage?.totalTokens ?? 0;
    const work: Promise<unknown>[] = [];
    if (this.#tokenRules.length > 0 && this.#reservedTokens.some((r) => r !== actualTokens)) {
      work.push(this.#store.adjust(this.#tokenRules, this.#reservedTokens.map((r) => r - actualTokens)));
    }
    if (this.#lease !== null) work.push(this.#store.release(this.#lease.key, this.#lease.id));
    if (this.#periods.length > 0) {
      const cost = costUsd(finished.usage, this.#price(finished));
      const delta = cost - this.#reservedUsd;
      for (const p of this.#periods) {
        work.push(
          this.#store.add(p.key, delta, periodTtl(p)).then((total) => {
            const before = total - cost;
            const threshold = p.alertAt * p.limitUsd;
            if (before < threshold && total >= threshold) onAlert({ scope: this.#scope, period: p.name, spentUsd: total, limitUsd: p.limitUsd, share: total / p.limitUsd });
          }),
        );
      }
    }
    await Promise.all(work);
  }
}
