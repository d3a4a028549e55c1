import type { Logger } from 'pino';
import type { UsageWriter } from '../accounting/writer.js';
import type { BudgetAlert } from '../exchange/results.js';
import type { RequestSummary, ServiceSummary } from '../exchange/summary.js';
import type { EventBus } from './events.js';
import { attachRequestLog, type RequestLogSampling } from './request-log.js';

export interface SubscriberDeps {
  readonly logger: Logger;
  /** Which request lines are written. */
  readonly sampling: RequestLogSampling;
  /** Usage accounting, when `usage.enabled`. */
  readonly usage: UsageWriter | null;
}

/**
 * Subscribes what listens to finished requests besides metrics and traces (which subscribe
 * as they are built): the request log, limit and budget settlement, and usage records. Each
 * reads the request's frozen summary, never the live request.
 */
export function subscribeAll(bus: EventBus, deps: SubscriberDeps): void {
  attachRequestLog(bus, deps.logger, deps.sampling);
  settleWhenFinished(bus, deps.logger);
  const usage = deps.usage;
  if (usage !== null) bus.on('request:end', (s) => usage.record(s));
}

/**
 * Makes good what admission took (token reservations, the concurrency lease, the budget
 * reservation) once a request ends, model or service; a budget crossing its alert share is
 * published as `budget:alert`.
 */
export function settleWhenFinished(bus: EventBus, logger: Logger): void {
  const onAlert = (alert: BudgetAlert): void => bus.emit('budget:alert', alert);
  const settle = (s: RequestSummary | ServiceSummary): void => {
    if (s.settlement === null) return;
    s.settlement.settle(s, onAlert).catch((err: unknown) => logger.error({ err, reqId: s.id }, 'settling limits failed'));
  };
  bus.on('request:end', settle);
  bus.on('http:end', settle);
}
