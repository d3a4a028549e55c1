import { ApiError, download, may, request } from '../api.js';
import { barChart, lineChart } from '../charts.js';
import { el, fmt, replace, stat, table, usd } from '../dom.js';
import type { Page } from './page.js';

type Row = Record<string, string | number | null>;
interface UsageAnswer {
  data: Row[];
}

/** A 404 from an endpoint the config leaves out (usage records off, no cache) is said plainly. */
function absent(err: unknown, what: string): HTMLElement {
  if (err instanceof ApiError && err.status === 404) return el('p', { class: 'muted' }, what);
  throw err;
}

export const usagePage: Page = {
  path: 'usage',
  title: 'Usage and cost',
  async render(root) {
    const by = el('select', { id: 'usage-by' }, ...['key', 'user', 'model', 'provider', 'route', 'tier', 'day'].map((d) => el('option', { value: d }, d === 'day' ? 'day (UTC)' : d)));
    const days = el('select', { id: 'usage-days' }, el('option', { value: '1' }, 'today'), el('option', { value: '7', selected: true }, 'last 7 days'), el('option', { value: '30' }, 'last 30 days'));
    const exportButton = el('button', { type: 'button', class: 'secondary', id: 'usage-csv' }, 'Export CSV');
    const body = el('div', {});
    replace(root, el('form', { class: 'inline' }, el('label', {}, 'group by', by), el('label', {}, 'period', days), exportButton), body);
    const query = (format: string | null): string => {
      const from = new Date(Date.now() - Number(days.value) * 86_400_000);
      from.setUTCHours(0, 0, 0, 0);
      const q = new URLSearchParams({ from: from.toISOString() });
      if (by.value === 'day') q.set('bucket', 'day');
      else q.set('group_by', by.value);
      if (format !== null) q.set('format', format);
      return `/admin/usage?${q.toString()}`;
    };
    const load = async (): Promise<void> => {
      let answer: UsageAnswer;
      try {
        answer = await request<UsageAnswer>('GET', query(null));
      } catch (err) {
        return replace(body, absent(err, 'Usage records are off (usage.enabled, with a database): nothing to show.'));
      }
      const dim = by.value === 'day' ? 'bucket' : by.value;
      const rows = answer.data;
      const name = (r: Row): string => (r[dim] === null || r[dim] === undefined ? '(none)' : String(r[dim]).slice(0, dim === 'bucket' ? 10 : undefined));
      const total = rows.reduce((n, r) => n + Number(r.cost_usd ?? 0), 0);
      const ordered = dim === 'bucket' ? [...rows].sort((a, b) => name(a).localeCompare(name(b))) : rows;
      replace(
        body,
        el('div', { class: 'stats' }, stat('requests', fmt(rows.reduce((n, r) => n + Number(r.requests ?? 0), 0)), 'usage-requests'), stat('cost', usd(total))),
        dim === 'bucket'
          ? lineChart('cost per day (USD)', [{ name: 'cost', values: ordered.map((r) => Number(r.cost_usd ?? 0)) }], ordered.map(name))
          : barChart(`cost by ${dim} (USD)`, ordered.slice(0, 20).map((r) => ({ name: name(r), value: Number(r.cost_usd ?? 0) }))),
        table(
          [dim === 'bucket' ? 'day' : dim, 'requests', 'errors', 'prompt tokens', 'completion tokens', 'cache hits', 'cost', 'avg latency ms'],
          ordered.map((r) => [name(r), Number(r.requests ?? 0), Number(r.errors ?? 0), Number(r.prompt_tokens ?? 0), Number(r.completion_tokens ?? 0), Number(r.cache_hits ?? 0), usd(Number(r.cost_usd ?? 0)), fmt(Number(r.avg_latency_ms ?? NaN), 1)]),
          { id: 'usage-table' },
        ),
      );
    };
    by.addEventListener('change', () => void load());
    days.addEventListener('change', () => void load());
    exportButton.addEventListener('click', () => {
      void download(query('csv')).then((blob) => {
        const a = el('a', { href: URL.createObjectURL(blob), download: `sluice-usage-${by.value}.csv` });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      });
    });
    await load();
  },
};

interface Key {
  id: string;
  name: string;
  prefix: string;
  tier: string;
  user: string | null;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: string | null;
  source: 'config' | 'database';
}

export const keysPage: Page = {
  path: 'keys',
  title: 'Virtual keys',
  async render(root) {
    const secretBox = el('div', {});
    const list = el('div', {});
    const load = async (): Promise<void> => {
      const keys = (await request<{ data: Key[] }>('GET', '/admin/keys')).data;
      const manage = may('keys');
      replace(
        list,
        table(
          ['name', 'prefix', 'tier', 'user', 'created', 'state', ...(manage ? [''] : [])],
          keys.map((k) => {
            const state = k.revokedAt !== null ? `revoked ${k.revokedAt.slice(0, 16)}` : k.source === 'config' ? 'in config file' : 'active';
            const actions = el('span', {});
            if (manage && k.revokedAt === null && k.source === 'database') {
              const rotate = el('button', { type: 'button', class: 'secondary', 'data-rotate': k.name }, 'Rotate');
              const revoke = el('button', { type: 'button', class: 'danger', 'data-revoke': k.name }, 'Revoke');
              rotate.addEventListener('click', () => void change(() => request<Key & { key: string }>('POST', `/admin/keys/${encodeURIComponent(k.id)}/rotate`), `New secret of ${k.name}`));
              revoke.addEventListener('click', () => {
                if (confirm(`Revoke ${k.name}? Requests with it will be refused.`)) void change(() => request<Key & { key?: string }>('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`), null);
              });
              actions.append(rotate, ' ', revoke);
            }
            return [k.name, k.prefix, k.tier, k.user ?? '—', k.createdAt.slice(0, 16).replace('T', ' '), state, ...(manage ? [actions] : [])];
          }),
          { id: 'keys-table' },
        ),
      );
    };
    /** Runs a change; a new secret is shown once, here, and nowhere else. */
    const change = async (run: () => Promise<{ key?: string }>, label: string | null): Promise<void> => {
      try {
        const answer = await run();
        replace(secretBox, answer.key === undefined || label === null ? null : el('div', { class: 'card' }, el('p', {}, `${label}: copy it now, it is not shown again.`), el('div', { class: 'secret', id: 'new-key-secret' }, answer.key)));
      } catch (err) {
        replace(secretBox, el('p', { class: 'error', id: 'keys-error' }, err instanceof Error ? err.message : String(err)));
      }
      await load();
    };
    const parts: HTMLElement[] = [];
    if (may('keys')) {
      const name = el('input', { name: 'name', id: 'key-name', required: true, maxlength: '200' });
      const tier = el('input', { name: 'tier', id: 'key-tier', placeholder: 'default' });
      const user = el('input', { name: 'user', id: 'key-user' });
      const form = el('form', { class: 'inline card', id: 'key-create' }, el('label', {}, 'name', name), el('label', {}, 'tier', tier), el('label', {}, 'user', user), el('button', { type: 'submit', id: 'key-create-submit' }, 'Create key'));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const body = { name: name.value.trim(), ...(tier.value.trim() === '' ? {} : { tier: tier.value.trim() }), ...(user.value.trim() === '' ? {} : { user: user.value.trim() }) };
        void change(() => request<Key & { key: string }>('POST', '/admin/keys', body), `Key ${body.name} created`).then(() => form.reset());
      });
      parts.push(form);
    }
    replace(root, ...parts, secretBox, list);
    await load();
  },
};

export const cachePage: Page = {
  path: 'cache',
  title: 'Response cache',
  async render(root) {
    let stats: Record<string, unknown>;
    try {
      stats = await request<Record<string, unknown>>('GET', '/admin/cache');
    } catch (err) {
      return replace(root, absent(err, 'No route or service caches: there is no response cache.'));
    }
    const result = el('p', { id: 'cache-result' });
    const numbers = Object.entries(stats).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
    const parts: HTMLElement[] = [el('div', { class: 'stats', id: 'cache-stats' }, ...numbers.map(([k, v]) => stat(k, typeof v === 'number' ? fmt(v) : String(v))))];
    if (may('admin')) {
      const namespace = el('input', { name: 'namespace', id: 'cache-namespace', placeholder: 'all' });
      const form = el('form', { class: 'inline card', id: 'cache-purge' }, el('label', {}, 'namespace (a route name)', namespace), el('button', { type: 'submit', class: 'danger', id: 'cache-purge-submit' }, 'Purge'));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const body = namespace.value.trim() === '' ? {} : { namespace: namespace.value.trim() };
        request<{ purged: number }>('POST', '/admin/cache/purge', body)
          .then((r) => replace(result, `Purged ${r.purged} entries.`))
          .catch((err: unknown) => replace(result, el('span', { class: 'error' }, err instanceof Error ? err.message : String(err))));
      });
      parts.push(form);
    }
    replace(root, ...parts, result);
  },
};

export const configPage: Page = {
  path: 'config',
  title: 'Running config',
  async render(root) {
    const c = await request<{ source: string; loadedAt: string; config: unknown; reload?: unknown }>('GET', '/admin/config');
    replace(
      root,
      el('p', { class: 'muted' }, `From ${c.source}, loaded ${c.loadedAt}. Secrets are masked.`),
      c.reload === undefined ? null : el('div', { class: 'card', id: 'config-reload' }, el('h2', {}, 'Reload'), el('pre', {}, JSON.stringify(c.reload, null, 2))),
      el('pre', { id: 'config-json' }, JSON.stringify(c.config, null, 2)),
    );
  },
};

interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  role: string;
  method: string;
  action: string;
  target: string | null;
  status: number;
  ip: string;
  detail: string | null;
}

export const auditPage: Page = {
  path: 'audit',
  title: 'Audit log',
  async render(root) {
    const rows: AuditEntry[] = [];
    const more = el('button', { type: 'button', class: 'secondary', id: 'audit-more' }, 'Older entries');
    const holder = el('div', {});
    let before: string | null = null;
    const load = async (): Promise<void> => {
      const page = await request<{ data: AuditEntry[]; has_more: boolean; last_id: string | null }>('GET', `/admin/audit?limit=50${before === null ? '' : `&before=${encodeURIComponent(before)}`}`);
      rows.push(...page.data);
      before = page.last_id;
      more.hidden = !page.has_more;
      replace(
        holder,
        table(
          ['when', 'who', 'role', 'what', 'target', 'status', 'from', 'detail'],
          rows.map((e) => [e.at.replace('T', ' ').slice(0, 19), e.actor, e.role, `${e.method} ${e.action}`, e.target ?? '—', e.status, e.ip, e.detail === null ? '—' : e.detail.length > 120 ? `${e.detail.slice(0, 119)}…` : e.detail]),
          { id: 'audit-table' },
        ),
      );
    };
    more.addEventListener('click', () => void load());
    replace(root, holder, more);
    await load();
  },
};
