import { Counter, Gauge, type Registry } from 'prom-client';
import type { ProviderAdapter } from '../providers/types.js';

const stateValue = { serving: 0, resting: 1, removed: 2 } as const;

/**
 * Metrics of providers' API key pools (issue 21), by provider and key id (the first 8 hex
 * digits of the key's SHA-256, never the key). Read from the pools when Prometheus scrapes:
 * the request path only bumps a number on the key.
 */
export function registerKeyMetrics(registry: Registry, adapters: () => Iterable<ProviderAdapter>): void {
  const each = (fn: (s: ReturnType<NonNullable<ProviderAdapter['keys']>['snapshot']>[number]) => void): void => {
    for (const a of adapters()) if (a.keys !== undefined) for (const s of a.keys.snapshot()) fn(s);
  };
  new Counter({
    name: 'sluice_provider_key_requests_total',
    help: 'Upstream calls sent with each API key, by provider and key id.',
    labelNames: ['provider', 'key_id'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.inc({ provider: s.provider, key_id: s.key }, s.sent));
    },
  });
  new Counter({
    name: 'sluice_provider_key_rests_total',
    help: 'Rests begun by each API key (a 429, or quota headers saying nothing is left), by provider and key id.',
    labelNames: ['provider', 'key_id'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.inc({ provider: s.provider, key_id: s.key }, s.rests));
    },
  });
  new Counter({
    name: 'sluice_provider_key_removals_total',
    help: 'API keys taken out of their pool after a 401 or 403, by provider and key id.',
    labelNames: ['provider', 'key_id'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.inc({ provider: s.provider, key_id: s.key }, s.state === 'removed' ? 1 : 0));
    },
  });
  new Gauge({
    name: 'sluice_provider_key_state',
    help: 'State of each API key: 0 serving, 1 resting, 2 removed; by provider and key id.',
    labelNames: ['provider', 'key_id'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.set({ provider: s.provider, key_id: s.key }, stateValue[s.state]));
    },
  });
  new Gauge({
    name: 'sluice_provider_key_rest_seconds',
    help: 'Seconds of rest left for each API key (0 when serving), by provider and key id.',
    labelNames: ['provider', 'key_id'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => this.set({ provider: s.provider, key_id: s.key }, s.restingMs / 1000));
    },
  });
}
