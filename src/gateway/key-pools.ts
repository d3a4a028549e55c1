/**
 * What the providers' API key pools get from the composition root (issue 21): the clock, and
 * where their events go. A key taken out is logged once at error level, by its short id.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { KeyEvent, KeyPoolServices } from '../providers/keys/pool.js';

export function keyPoolServices(clock: Clock, logger: Logger): KeyPoolServices {
  return {
    clock,
    onKeyEvent: (e: KeyEvent) => {
      if (e.kind === 'removed') logger.error({ provider: e.provider, key: e.key, status: e.status }, 'provider API key taken out of its pool: the provider refused it');
      else logger.debug({ provider: e.provider, key: e.key, status: e.status, restMs: e.ms }, 'provider API key resting');
    },
  };
}
