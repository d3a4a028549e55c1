import type { Logger } from 'pino';
import type { RequestSummary } from '../exchange/summary.js';
import type { EventBus } from './events.js';

/** Which request lines are written: all failures, and this share of successes. */
export interface RequestLogSampling {
  /** 0..1; 1 logs every request. */
  readonly sampleRate: number;
  readonly random: () => number;
}

/** Failures are always logged, whatever the sample rate: they are what an operator looks for. */
function failed(ctx: RequestSummary): boolean {
  return ctx.errorCode !== null || ctx.status >= 400;
}

/** One log line per finished request, with what an operator needs to follow it. */
export function attachRequestLog(bus: EventBus, logger: Logger, sampling: RequestLogSampling): void {
  const { sampleRate, random } = sampling;
  bus.on('request:end', (ctx) => {
    if (!logger.isLevelEnabled('info')) return;
    // random() is drawn only when sampling, so a seeded generator shared with routing keeps
    // its sequence when every request is logged.
    if (sampleRate < 1 && !failed(ctx) && random() >= sampleRate) return;
    logger.info(
      {
        reqId: ctx.id,
        endpoint: ctx.endpoint,
        model: ctx.model,
        route: ctx.route.name,
        provider: ctx.target?.provider ?? null,
        stream: ctx.stream,
        status: ctx.status,
        code: ctx.errorCode,
        clientGone: ctx.clientGone,
        principal: ctx.principal.id,
        tier: ctx.principal.tier,
        retries: ctx.retries,
        cache: ctx.cacheResult,
        fallback: ctx.fallbackModel,
        ms: Math.round((ctx.endedAt - ctx.startedAt) * 100) / 100,
        ttfbMs: ctx.firstByteAt < 0 ? null : Math.round((ctx.firstByteAt - ctx.startedAt) * 100) / 100,
        upstreamMs: ctx.upstreamMs < 0 ? null : Math.round(ctx.upstreamMs * 100) / 100,
        tokens: ctx.usage === null ? null : { prompt: ctx.usage.promptTokens, completion: ctx.usage.completionTokens },
      },
      'request',
    );
  });
  bus.on('http:end', (ctx) => {
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        reqId: ctx.id,
        service: ctx.service,
        method: ctx.method,
        path: ctx.url.split('?', 1)[0],
        instance: ctx.instance,
        status: ctx.status,
        code: ctx.errorCode,
        clientGone: ctx.clientGone,
        principal: ctx.principal.id,
        retries: ctx.retries,
        ms: Math.round((ctx.endedAt - ctx.startedAt) * 100) / 100,
        ttfbMs: ctx.firstByteAt < 0 ? null : Math.round((ctx.firstByteAt - ctx.startedAt) * 100) / 100,
      },
      'http request',
    );
  });
  bus.on('http:instance', (t) => logger.warn({ service: t.service, instance: t.instance, event: t.event, reason: t.reason }, 'service instance'));
  bus.on('breaker:transition', (e) => logger.warn({ route: e.route, target: e.target, from: e.from, to: e.to, reason: e.reason }, 'circuit breaker'));
  bus.on('budget:alert', (a) => logger.warn({ scope: a.scope, period: a.period, spentUsd: a.spentUsd, limitUsd: a.limitUsd }, 'budget alert'));
  bus.on('health:transition', (t) => logger.warn({ provider: t.provider, healthy: t.healthy, reason: t.reason }, 'provider health'));
}
