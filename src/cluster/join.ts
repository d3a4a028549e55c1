import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { PrimaryChannel } from './channel.js';

/**
 * Joins a worker's runtime to its cluster: /metrics on any worker answers every worker's
 * figures (aggregated by the primary), the primary's question for this worker's figures is
 * answered, and reloads the primary forwards (SIGHUP, the file watch, another worker's admin
 * reload) run here.
 */
export function joinCluster(channel: PrimaryChannel, metrics: Metrics, reload: (trigger: string) => Promise<unknown>, logger: Logger): void {
  metrics.render = () => channel.call('metrics');
  channel.answer({ metrics: () => metrics.registry.getMetricsAsJSON() });
  channel.onReload((trigger) => {
    logger.info({ trigger }, 'reloading the config');
    void reload(trigger);
  });
}
