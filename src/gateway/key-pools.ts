/**
 * What the providers' API key pools get from the composition root (issue 21): the clock, and
 * where their events go. A key taken out is logged once at error level, by its short id.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { carryKeyState, type KeyEvent, type KeyPoolServices } from '../providers/keys/pool.js';
import type { ProviderAdapter } from '../providers/types.js';

export function keyPoolServices(clock: Clock, logger: Logger): KeyPoolServices {
  return {
    clock,
    onKeyEvent: (e: KeyEvent) => {
      if (e.kind === 'removed') logger.error({ provider: e.provider, key: e.key, status: e.status }, 'provider API key taken out of its pool: the provider refused it');
      else logger.debug({ provider: e.provider, key: e.key, status: e.status, restMs: e.ms }, 'provider API key resting');
    },
  };
}

/**
 * For hot reload (issue 20): each provider of the new config version takes over the key state of
 * the provider of the same name in the running one (`carryKeyState`, by key id). Call it after
 * building the new runtime and before swapping it in; answers still arriving on the old pools
 * after that are not carried.
 */
export function carryAdapterKeys(from: ReadonlyMap<string, ProviderAdapter>, to: ReadonlyMap<string, ProviderAdapter>): void {
  for (const [name, adapter] of to) carryKeyState(from.get(name)?.keys, adapter.keys);
}
