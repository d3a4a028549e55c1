import type { Usage } from '../providers/types.js';
import type { Price } from '../tokens/cost.js';

/**
 * The typed results stages leave on the exchange that code outside their folder reads. They
 * live beside the contract, not in policies/, so the exchange never imports a policy
 * (dependencies point one way: policies → exchange; issue 17).
 */

/** What the response cache did for a request (cache stage). */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'stale' | 'bypass';

/** A budget that crossed its alert share while a request settled. */
export interface BudgetAlert {
  readonly scope: string;
  readonly period: 'daily' | 'monthly';
  readonly spentUsd: number;
  readonly limitUsd: number;
  readonly share: number;
}

/**
 * What settlement reads of a finished request: the tokens it used and the price of what
 * answered. A request summary (model or service) is one.
 */
export interface SettlementInputs {
  /** The requested model; null on HTTP services. */
  readonly model: string | null;
  readonly usage: Usage | null;
  /** What answered, for its price; null when nothing priced answered. */
  readonly target: { readonly price: Price | null; readonly model: string | null } | null;
}

/**
 * What admission took (token reservations, a concurrency lease, a budget reservation), to be
 * made good once when the request ends (admit stage). Settled by the settlement subscriber
 * from the request's summary.
 */
export interface Settlement {
  /** Never rejects: a failure to correct is reported, and the request is already answered. */
  settle(finished: SettlementInputs, onAlert: (a: BudgetAlert) => void): Promise<void>;
}
