import type { Limits, TierRuntime } from '../../config/compile.js';
import { SluiceError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { compileGlob } from '../../lib/glob.js';
import type { Next, Stage } from '../../exchange/compose.js';
import type { AdmissionContext, RequestContext } from '../../exchange/context.js';
import type { SettlementInputs } from '../../exchange/results.js';
import { isStoreError } from '../../stores/errors.js';
import type { LimitResult, StateStore } from '../../stores/types.js';
import { costUsd, type Price } from '../../tokens/cost.js';
import { answeringPrice, type PriceBook } from '../../tokens/prices.js';
import { DEFAULT_COMPLETION_TOKENS } from '../../tokens/estimate.js';
import { budgetPeriods, reserve } from './budget.js';
import { rateLimitHeaders, rateLimitPolicy, rateLimitState } from './headers.js';
import { mergeLimits, rulesFor, type ScopedRule } from './rules.js';
import { AdmissionSettlement } from './settlement.js';
import type { Principal } from '../../exchange/principal.js';
import { clampPriority } from '../../routing/priority.js';

/** A concurrency slot not released within this time (a crashed instance) expires. */
const CONCURRENCY_LEASE_MS = 15 * 60_000;

/** Where refusals are published: the gateway's event bus (declared here so policies need not import it). */
export interface RejectionSink {
  emit(event: 'limit:rejected', e: RejectionEvent): void;
}

export interface RejectionEvent {
  readonly route: string;
  readonly policy: string;
}

/** Maps a store failure in `closed` mode to the catalog; other errors pass. */
export function storeError(err: unknown): unknown {
  return isStoreError(err) ? new SluiceError('SLUICE_ERR_LIMITER_UNAVAILABLE', { cause: err }) : err;
}

/** Runs rules; all-or-nothing: when one denies, the others are given back. Throws 429. */
export async function consumeAll(store: StateStore, rules: readonly ScopedRule[], costs: readonly number[], onReject: (policy: string) => void): Promise<LimitResult[]> {
  if (rules.length === 0) return [];
  // A cost above a rule's burst can never be admitted, however long the client waits.
  const tooLarge = rules.findIndex((r, i) => costs[i]! > r.burst);
  if (tooLarge !== -1) {
    const r = rules[tooLarge]!;
    onReject(r.policy);
    throw new SluiceError('SLUICE_ERR_REQUEST_TOO_LARGE', { message: `The request needs about ${costs[tooLarge]} ${r.unit}, more than ${r.policy} allows at once (${r.burst}).` });
  }
  let results: LimitResult[];
  try {
    results = await store.consume(rules, costs);
  } catch (err) {
    throw storeError(err);
  }
  const denied = results.map((r, i) => (r.allowed ? -1 : i)).filter((i) => i >= 0);
  if (denied.length === 0) return results;
  const granted = results.map((r, i) => (r.allowed ? i : -1)).filter((i) => i >= 0);
  if (granted.length > 0) await store.adjust(granted.map((i) => rules[i]!), granted.map((i) => costs[i]!)).catch(() => {});
  const retryAfterMs = Math.max(...denied.map((i) => results[i]!.retryAfterMs));
  const first = rules[denied[0]!]!;
  onReject(first.policy);
  throw new SluiceError('SLUICE_ERR_RATE_LIMITED', {
    message: `Rate limit reached (${first.policy}: ${first.limit} ${first.unit} per ${first.windowMs / 1000} s). Retry after ${Math.ceil(retryAfterMs / 1000)} s.`,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))), ...rateLimitHeaders(rules, results) },
  });
}

/**
 * What a token rule reserves: the prompt estimate plus the completion's bound, settled to the
 * real usage afterwards (reserving the prompt alone let completions overshoot a tpm, issue 15).
 * A request that declares no bound reserves the default, but never more than fits the rule's
 * burst beside its prompt, so it is not refused as too large for a bound it did not ask for.
 */
function tokenReservation(rule: ScopedRule, ctx: AdmissionContext): number {
  const prompt = ctx.estimatedPromptTokens;
  return prompt + (ctx.declaredCompletionTokens ?? Math.min(DEFAULT_COMPLETION_TOKENS, Math.max(0, rule.burst - prompt)));
}

/**
 * What admission reads of a model route or an HTTP service, given explicitly by whoever builds
 * the stage (gateway/): its name and limits, whether it honours `x-sluice-priority`, and the
 * price budgets reserve at.
 */
export interface AdmitScope {
  readonly name: string;
  readonly limits: Limits | null;
  readonly priorityHeader: boolean;
  /** The dearest target's price (dearestPrice); null when nothing is priced (HTTP services). */
  readonly reservePrice: Price | null;
}

/** Budgets reserve at the dearest target's price: the real cost is charged afterwards. */
export function dearestPrice(targets: readonly { readonly price: Price | null }[]): Price | null {
  return targets.reduce<Price | null>((max, t) => {
    const p = t.price;
    return p === null ? max : max === null || p.input + p.output > max.input + max.output ? p : max;
  }, null);
}

/** What admission derives from a principal alone, for one route. */
interface PrincipalPlan {
  readonly tier: TierRuntime;
  readonly scope: string;
  readonly limits: Limits | null;
  readonly rules: readonly ScopedRule[];
  readonly tokenRules: readonly ScopedRule[];
  /** The RateLimit-Policy field, null without rules. */
  readonly policyHeader: string | null;
}

/**
 * The admit stage of a route: the principal's model allowlist, its limits (the tier's,
 * overridden per key; counted per user when the principal has one, else per key), the
 * route's own limits, its concurrency cap and its budget. Tokens are admitted on an estimate
 * of the prompt plus the completion's bound, and corrected from the real usage when the
 * request ends (Settlement).
 */
export class AdmitStage<C extends AdmissionContext = RequestContext> implements Stage<C> {
  readonly name = 'admit';
  readonly #route: AdmitScope;
  readonly #tiers: Readonly<Record<string, TierRuntime>>;
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #events: RejectionSink;
  readonly #globs = new Map<string, RegExp>();
  readonly #estimatePrice: Price | null;
  readonly #plans = new WeakMap<Principal, PrincipalPlan>();
  readonly #reject: (policy: string) => void;
  /** The price of what answered, for settling the budget when the request ends. */
  readonly #priceOf: (finished: SettlementInputs) => Price | null;

  constructor(route: AdmitScope, tiers: Readonly<Record<string, TierRuntime>>, store: StateStore, clock: Clock, events: RejectionSink, prices: PriceBook) {
    this.#route = route;
    this.#tiers = tiers;
    this.#store = store;
    this.#clock = clock;
    this.#events = events;
    this.#reject = (policy) => this.#events.emit('limit:rejected', { route: route.name, policy });
    this.#estimatePrice = route.reservePrice;
    this.#priceOf = (ctx) => (ctx.model === null ? (ctx.target?.price ?? null) : answeringPrice(prices, ctx.target, ctx.model));
  }

  async run(ctx: C, next: Next<C>): Promise<void> {
    const p = ctx.principal;
    const model = ctx.model;
    if (p.models !== null && model !== null && !p.models.some((m) => this.#glob(m).test(model))) {
      throw new SluiceError('SLUICE_ERR_MODEL_FORBIDDEN', { message: `This key may not use the model ${JSON.stringify(ctx.model)}.`, param: 'model' });
    }
    const plan = this.#planFor(p);
    const { tier, scope, limits, rules } = plan;
    const mayChoose = tier.priorityHeader || this.#route.priorityHeader;
    // The tier's priority plus what the surface set from the route's request type (routing/priority.ts).
    ctx.priority = mayChoose && ctx.requestedPriority !== null ? ctx.requestedPriority : clampPriority(tier.priority + ctx.priority);
    const costs = rules.map((r) => (r.unit === 'requests' ? 1 : tokenReservation(r, ctx)));
    const results = await consumeAll(this.#store, rules, costs, this.#reject);

    let lease: { key: string; id: string } | null = null;
    try {
      if (limits?.concurrent != null) {
        const key = `principal:${scope}:concurrent`;
        const id = await this.#store.acquire(key, limits.concurrent, CONCURRENCY_LEASE_MS);
        if (id === null) {
          this.#reject('principal-concurrent');
          throw new SluiceError('SLUICE_ERR_RATE_LIMITED', { message: `Too many requests in flight (at most ${limits.concurrent}).`, headers: { 'retry-after': '1' } });
        }
        lease = { key, id };
      }
      const now = this.#clock.now();
      // The principal's own budget, and the tier's total shared by all its principals.
      const periods = [...budgetPeriods(scope, p.budget ?? tier.budget, now), ...budgetPeriods(`tier:${tier.name}`, tier.totalBudget, now)];
      const estimate = costUsd({ promptTokens: ctx.estimatedPromptTokens, cachedPromptTokens: 0, completionTokens: ctx.declaredCompletionTokens ?? DEFAULT_COMPLETION_TOKENS, totalTokens: 0 }, this.#estimatePrice);
      const refused = await reserve(this.#store, periods, estimate);
      if (refused !== null) {
        this.#reject(`budget-${refused.name}`);
        throw new SluiceError('SLUICE_ERR_BUDGET_EXCEEDED', {
          message: `The ${refused.name} budget of $${refused.limitUsd} is spent.`,
          headers: { 'retry-after': String(Math.ceil(refused.endsInMs / 1000)) },
        });
      }
      const tokenCosts = plan.tokenRules.map((r) => tokenReservation(r, ctx));
      ctx.settlement = new AdmissionSettlement(this.#store, plan.tokenRules, tokenCosts, lease, { scope, periods, reservedUsd: estimate }, this.#priceOf);
    } catch (err) {
      await this.#undo(rules, costs, lease);
      throw storeError(err);
    }
    if (plan.policyHeader !== null) {
      const headers = (ctx.responseHeaders ??= {});
      headers['ratelimit-policy'] = plan.policyHeader;
      headers.ratelimit = rateLimitState(rules, results);
    }
    await next(ctx);
  }

  /** Gives back what a request took when a later step of its admission refused it. */
  async #undo(rules: readonly ScopedRule[], costs: readonly number[], lease: { key: string; id: string } | null): Promise<void> {
    if (rules.length > 0) await this.#store.adjust(rules, costs).catch(() => {});
    if (lease !== null) await this.#store.release(lease.key, lease.id).catch(() => {});
  }

  /**
   * What admission derives from the principal alone (its tier, scope, limits and rules), kept
   * per principal object: a key's principal is the same object while the key cache holds it,
   * so the rules and their strings are built once, not on every request (issue #7).
   */
  #planFor(p: Principal): PrincipalPlan {
    let plan = this.#plans.get(p);
    if (plan === undefined) {
      const tier = this.#tiers[p.tier] ?? this.#tiers.default!;
      const scope = p.user !== null ? `user:${p.user}` : p.id;
      const limits = mergeLimits(tier.limits, p.limits);
      const rules = [...rulesFor('principal', scope, limits), ...rulesFor('route', this.#route.name, this.#route.limits)];
      plan = { tier, scope, limits, rules, tokenRules: rules.filter((r) => r.unit === 'tokens'), policyHeader: rules.length > 0 ? rateLimitPolicy(rules) : null };
      this.#plans.set(p, plan);
    }
    return plan;
  }

  #glob(pattern: string): RegExp {
    let re = this.#globs.get(pattern);
    if (re === undefined) {
      re = compileGlob(pattern);
      this.#globs.set(pattern, re);
    }
    return re;
  }
}
