import type { FastifyInstance } from 'fastify';
import type { Budget, Limits } from '../config/compile.js';
import { summarizeUsage, type SummaryRow } from '../accounting/queries.js';
import type { Reader } from '../db/replicas.js';
import { SluiceError } from '../errors.js';
import type { KeyRegistry } from '../policies/identify/keys.js';
import type { AdminSources } from './admin-sources.js';

/** Principals listed with their spend: the ones that spent most this month. */
const SPEND_ROWS = 500;

export interface LimitsDeps {
  readonly sources: AdminSources;
  readonly keys: KeyRegistry;
  /** The usage records, when they are kept: what each principal has spent. */
  readonly usage: Reader | null;
}

/**
 * `GET /admin/limits`: the limits and budgets configured per tier, key, route, HTTP service
 * and client IP, and what each principal has spent of its budget today and this month (UTC),
 * summed from the usage records. A budget applies to the key's user when it has one, else to
 * the key (as admission counts it). Not shown: the live per-window rate counters (requests
 * and tokens this second/minute/day), which live in the state store (memory or Redis) keyed
 * per principal and window and cannot be listed cheaply.
 */
export function registerLimitsAdmin(admin: FastifyInstance, deps: LimitsDeps): void {
  admin.get('/limits', async () => {
    const config = deps.sources.config();
    const now = new Date(deps.sources.clock.now());
    const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const spend = deps.usage === null ? null : await spending(deps.usage, day, month);
    const spentBy = (principal: string): { today: number; month: number } | null => {
      if (spend === null) return null;
      return { today: spend.today.get(principal) ?? 0, month: spend.month.get(principal) ?? 0 };
    };
    const fromConfig = new Map(config.keys.map((k) => [k.id, k]));
    const keys = (await deps.keys.list())
      .filter((k) => k.revokedAt === null)
      .map((k) => {
        const budgetScope = k.user !== null ? `user:${k.user}` : `key:${k.id}`;
        // A config key's limits are known compiled only: written back in the API's shape.
        const declared = fromConfig.get(k.id);
        const limits = declared === undefined ? k.limits : limitsShape(declared.limits);
        const budget = declared === undefined ? k.budget : budgetShape(declared.budget);
        return { id: k.id, name: k.name, source: k.source, tier: k.tier, user: k.user, limits, budget, budgetScope, spentUsd: spentBy(budgetScope) };
      });
    const principals = spend === null ? null : [...spend.month.keys()].map((p) => ({ principal: p, spentUsd: spentBy(p) }));
    return {
      object: 'limits',
      periods: { day: day.toISOString(), month: month.toISOString() },
      tiers: Object.values(config.tiers).map((t) => ({ tier: t.name, limits: t.limits, budget: t.budget, totalBudget: t.totalBudget, priority: t.priority })),
      keys,
      principals,
      routes: config.routes.filter((r) => r.limits !== null).map((r) => ({ route: r.name, limits: r.limits })),
      services: config.services.filter((s) => s.limits !== null).map((s) => ({ service: s.name, limits: s.limits })),
      ip: config.ipLimits,
    };
  });
}

/** Compiled limits in the shape the admin API takes them (no unset fields). */
function limitsShape(l: Limits | null): Record<string, number> | null {
  if (l === null) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(l)) if (typeof v === 'number') out[k] = v;
  return out;
}

function budgetShape(b: Budget | null): { daily?: number; monthly?: number; alertAt: number } | null {
  if (b === null) return null;
  return { ...(b.dailyUsd === null ? {} : { daily: b.dailyUsd }), ...(b.monthlyUsd === null ? {} : { monthly: b.monthlyUsd }), alertAt: b.alertAt };
}

/** Spend in USD per principal (`key:<id>`, `user:<name>`, `jwt:<subject>`) since the day's and the month's start. */
async function spending(reader: Reader, day: Date, month: Date): Promise<{ today: Map<string, number>; month: Map<string, number> }> {
  try {
    const [byKeyMonth, byUserMonth, byKeyDay, byUserDay] = await Promise.all([
      summarizeUsage(reader, ['key'], null, { from: month, to: null, where: {} }),
      summarizeUsage(reader, ['user'], null, { from: month, to: null, where: {} }),
      summarizeUsage(reader, ['key'], null, { from: day, to: null, where: {} }),
      summarizeUsage(reader, ['user'], null, { from: day, to: null, where: {} }),
    ]);
    const fill = (byKey: SummaryRow[], byUser: SummaryRow[]): Map<string, number> => {
      const out = new Map<string, number>();
      for (const r of byKey.slice(0, SPEND_ROWS)) if (typeof r.key === 'string') out.set(r.key, Number(r.cost_usd ?? 0));
      for (const r of byUser.slice(0, SPEND_ROWS)) if (typeof r.user === 'string') out.set(`user:${r.user}`, Number(r.cost_usd ?? 0));
      return out;
    };
    return { today: fill(byKeyDay, byUserDay), month: fill(byKeyMonth, byUserMonth) };
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: `The usage records cannot be read: ${err instanceof Error ? err.message : String(err)}.` });
  }
}
