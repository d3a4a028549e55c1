import { request } from '../api.js';
import { lineChart } from '../charts.js';
import { badge, el, fmt, replace, stat, table, usd, type Child } from '../dom.js';
import { every, type Page } from './page.js';

interface Point {
  at: string;
  requests: number;
  rps: number;
  errors4xx: number;
  errors5xx: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
interface Series {
  points: Point[];
  total: Omit<Point, 'at'>;
}
interface Traffic {
  windowSeconds: number;
  stepSeconds: number;
  overall: Series;
  routes: Record<string, Series>;
  providers: Record<string, Series>;
  services: Record<string, Series>;
}

const time = (iso: string): string => iso.slice(11, 19);

function breakdown(title: string, by: Record<string, Series>): Child {
  const names = Object.keys(by);
  if (names.length === 0) return null;
  return el(
    'div',
    {},
    el('h2', {}, title),
    table(
      ['name', 'requests', 'req/s', '4xx', '5xx', 'p50 ms', 'p95 ms', 'p99 ms'],
      names.map((n) => {
        const t = by[n]!.total;
        return [n, t.requests, fmt(t.rps, 2), t.errors4xx, t.errors5xx, fmt(t.p50, 1), fmt(t.p95, 1), fmt(t.p99, 1)];
      }),
    ),
    el('div', { class: 'charts' }, lineChart(`${title}: requests per second`, names.map((n) => ({ name: n, values: by[n]!.points.map((p) => p.rps) })), by[names[0]!]!.points.map((p) => time(p.at)))),
  );
}

export const trafficPage: Page = {
  path: 'traffic',
  title: 'Live traffic',
  async render(root) {
    const windowSelect = el('select', { id: 'traffic-window' }, el('option', { value: '5m' }, 'last 5 minutes'), el('option', { value: '15m' }, 'last 15 minutes'), el('option', { value: '1m' }, 'last minute'));
    const body = el('div', {});
    replace(root, el('p', { class: 'muted' }, 'This instance, refreshed every 2 seconds. ', windowSelect), body);
    const tick = async (): Promise<void> => {
      const t = await request<Traffic>('GET', `/admin/traffic?window=${encodeURIComponent(windowSelect.value)}`);
      const o = t.overall;
      const labels = o.points.map((p) => time(p.at));
      replace(
        body,
        el(
          'div',
          { class: 'stats' },
          stat('requests', fmt(o.total.requests), 'traffic-requests'),
          stat('req/s', fmt(o.total.rps, 2), 'traffic-rps'),
          stat('4xx', fmt(o.total.errors4xx), 'traffic-4xx'),
          stat('5xx', fmt(o.total.errors5xx), 'traffic-5xx'),
          stat('p50', `${fmt(o.total.p50, 1)} ms`),
          stat('p95', `${fmt(o.total.p95, 1)} ms`),
          stat('p99', `${fmt(o.total.p99, 1)} ms`),
        ),
        el(
          'div',
          { class: 'charts' },
          lineChart('requests per second', [{ name: 'req/s', values: o.points.map((p) => p.rps) }], labels),
          lineChart('errors per step', [{ name: '4xx', values: o.points.map((p) => p.errors4xx) }, { name: '5xx', values: o.points.map((p) => p.errors5xx) }], labels),
          lineChart('latency (ms)', [{ name: 'p50', values: o.points.map((p) => p.p50) }, { name: 'p95', values: o.points.map((p) => p.p95) }, { name: 'p99', values: o.points.map((p) => p.p99) }], labels),
        ),
        breakdown('By route', t.routes),
        breakdown('By provider', t.providers),
        breakdown('By HTTP service', t.services),
      );
    };
    windowSelect.addEventListener('change', () => void tick());
    return every(2_000, tick);
  },
};

interface Targets {
  routes: { route: string; strategy: string; targets: { target: string; healthy: boolean | null; available: boolean; breaker: string | null; backInMs: number; inFlight: number; queued: number; latencyMs: number | null; weight: number }[] }[];
  services: { service: string; instances: { instance: string; healthy: boolean | null; available: boolean; outlier: string | null; inFlight: number; latencyMs: number | null }[] }[];
}

const health = (h: boolean | null): HTMLElement => (h === null ? badge('no check', 'none') : h ? badge('healthy', 'good') : badge('unhealthy', 'bad'));
const breaker = (b: string | null): HTMLElement => (b === null ? badge('off', 'none') : badge(b, b === 'closed' ? 'good' : b === 'open' ? 'bad' : 'warn'));

export const targetsPage: Page = {
  path: 'targets',
  title: 'Targets',
  async render(root) {
    return every(3_000, async () => {
      const t = await request<Targets>('GET', '/admin/targets');
      replace(
        root,
        ...t.routes.map((r) =>
          el(
            'div',
            { class: 'card' },
            el('h2', {}, `Route ${r.route} `, el('span', { class: 'muted' }, r.strategy)),
            table(
              ['target', 'health', 'breaker', 'in rotation', 'in flight', 'queued', 'latency ms', 'weight'],
              r.targets.map((x) => [x.target, health(x.healthy), breaker(x.breaker), x.available ? 'yes' : `no (back in ${fmt(x.backInMs / 1000, 1)} s)`, x.inFlight, x.queued, fmt(x.latencyMs, 1), x.weight]),
            ),
          ),
        ),
        ...t.services.map((s) =>
          el(
            'div',
            { class: 'card' },
            el('h2', {}, `Service ${s.service}`),
            table(['instance', 'health', 'ejected', 'in rotation', 'in flight', 'latency ms'], s.instances.map((i) => [i.instance, health(i.healthy), breaker(i.outlier), i.available ? 'yes' : 'no', i.inFlight, fmt(i.latencyMs, 1)])),
          ),
        ),
        t.routes.length === 0 && t.services.length === 0 ? el('p', { class: 'muted' }, 'No routes or services.') : null,
      );
    });
  },
};

interface Queues {
  waiting: number;
  routes: { route: string; maxDepth: number; timeoutMs: number; waiting: number; inFlight: number; targets: { target: string; capped: boolean; maxConcurrent: number | null; rpm: number | null; tpm: number | null; inFlight: number; waiting: number }[] }[];
}

export const queuesPage: Page = {
  path: 'queues',
  title: 'Queues',
  async render(root) {
    return every(2_000, async () => {
      const q = await request<Queues>('GET', '/admin/queues');
      replace(
        root,
        el('div', { class: 'stats' }, stat('waiting now', fmt(q.waiting), 'queues-waiting')),
        el('h2', {}, 'Per route'),
        table(['route', 'waiting', 'in flight', 'max depth', 'timeout s'], q.routes.map((r) => [r.route, r.waiting, r.inFlight, r.maxDepth, fmt(r.timeoutMs / 1000, 1)])),
        el('h2', {}, 'Targets with a capacity limit'),
        table(
          ['route', 'target', 'waiting', 'in flight', 'max concurrent', 'rpm', 'tpm'],
          q.routes.flatMap((r) => r.targets.filter((t) => t.capped).map((t) => [r.route, t.target, t.waiting, t.inFlight, fmt(t.maxConcurrent), fmt(t.rpm), fmt(t.tpm)])),
        ),
      );
    });
  },
};

type LimitSet = Record<string, number | null> | null;
interface Limits {
  periods: { day: string; month: string };
  tiers: { tier: string; limits: LimitSet; budget: { dailyUsd: number | null; monthlyUsd: number | null } | null; totalBudget: { dailyUsd: number | null; monthlyUsd: number | null } | null; priority: number }[];
  keys: { id: string; name: string; tier: string; user: string | null; limits: LimitSet; budget: { daily?: number; monthly?: number } | null; budgetScope: string; spentUsd: { today: number; month: number } | null }[];
  principals: { principal: string; spentUsd: { today: number; month: number } }[] | null;
  routes: { route: string; limits: LimitSet }[];
  services: { service: string; limits: LimitSet }[];
  ip: LimitSet;
}

function limitText(l: LimitSet): string {
  if (l === null) return '—';
  const parts = Object.entries(l).filter(([k, v]) => v !== null && k !== 'burst').map(([k, v]) => `${fmt(v)} ${k}`);
  return parts.length === 0 ? '—' : parts.join(', ');
}

function budgetText(b: { dailyUsd?: number | null; monthlyUsd?: number | null; daily?: number; monthly?: number } | null): string {
  if (b === null) return '—';
  const day = b.dailyUsd ?? b.daily ?? null;
  const month = b.monthlyUsd ?? b.monthly ?? null;
  return [day === null ? null : `${usd(day)}/day`, month === null ? null : `${usd(month)}/month`].filter((x) => x !== null).join(', ') || '—';
}

export const limitsPage: Page = {
  path: 'limits',
  title: 'Limits and budgets',
  async render(root) {
    const l = await request<Limits>('GET', '/admin/limits');
    replace(
      root,
      el('p', { class: 'muted' }, `Spend since ${l.periods.day.slice(0, 10)} (today, UTC) and ${l.periods.month.slice(0, 7)} (this month), from the usage records. Live per-window rate counters are kept in the state store and not shown.`),
      el('h2', {}, 'Tiers'),
      table(['tier', 'limits', 'budget per principal', 'budget for the tier', 'priority'], l.tiers.map((t) => [t.tier, limitText(t.limits), budgetText(t.budget), budgetText(t.totalBudget), t.priority])),
      el('h2', {}, 'Keys'),
      table(
        ['key', 'tier', 'user', 'own limits', 'own budget', 'budget applies to', 'spent today', 'spent this month'],
        l.keys.map((k) => [k.name, k.tier, k.user ?? '—', limitText(k.limits), budgetText(k.budget), k.budgetScope, usd(k.spentUsd?.today), usd(k.spentUsd?.month)]),
        { id: 'limits-keys' },
      ),
      l.principals === null ? el('p', { class: 'muted' }, 'Usage records are off: spend is not known.') : el('div', {}, el('h2', {}, 'Spend per principal'), table(['principal', 'today', 'this month'], l.principals.map((p) => [p.principal, usd(p.spentUsd.today), usd(p.spentUsd.month)]))),
      el('h2', {}, 'Routes, services and client addresses'),
      table(['scope', 'limits'], [...l.routes.map((r) => [`route ${r.route}`, limitText(r.limits)]), ...l.services.map((s) => [`service ${s.service}`, limitText(s.limits)]), ['per client IP', limitText(l.ip)]]),
    );
  },
};
