import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TracingRuntime } from '../config/compile.js';
import type { Clock } from '../lib/clock.js';
import type { RequestSummary, UpstreamAttempt } from '../exchange/summary.js';
import type { EventBus } from './events.js';

const operation = { chat: 'chat', completions: 'text_completion', embeddings: 'embeddings' } as const;

/**
 * OpenTelemetry traces, exported over OTLP/HTTP: one SERVER span per request and one CLIENT
 * span per upstream attempt under it (retries and fallbacks included). Spans are built when
 * the request ends, from the times and attempts its summary holds (dispatch keeps the
 * attempts only while tracing is on), so the request path carries no tracing code. A caller's `traceparent` makes the request span its child.
 *
 * Loaded with a dynamic import only when `tracing.endpoint` is set: with tracing off, none of
 * the SDK is loaded.
 */
export class Tracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #clock: Clock;
  readonly #propagator = new W3CTraceContextPropagator();
  /** Whether request ends still become spans (until shutdown). */
  #listening = true;

  constructor(config: TracingRuntime, bus: EventBus, clock: Clock) {
    this.#clock = clock;
    const headers = Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k, v.reveal()]));
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRate) }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint, headers }))],
    });
    this.#tracer = this.#provider.getTracer('sluice');
    bus.on('request:end', (s) => {
      if (this.#listening) this.#record(s);
    });
  }

  #record(ctx: RequestSummary): void {
    // Summaries carry monotonic times; spans want wall-clock ones.
    const toEpoch = this.#clock.now() - this.#clock.monotonic();
    const carrier: Record<string, string> = {};
    if (ctx.traceparent !== null) carrier.traceparent = ctx.traceparent;
    if (ctx.tracestate !== null) carrier.tracestate = ctx.tracestate;
    const parent = this.#propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const attributes: Attributes = {
      'sluice.request_id': ctx.id,
      'sluice.route': ctx.route.name,
      'gen_ai.operation.name': operation[ctx.endpoint],
      'gen_ai.request.model': ctx.model,
      'http.response.status_code': ctx.status,
      'sluice.stream': ctx.stream,
      'sluice.retries': ctx.retries,
    };
    if (ctx.target !== null) attributes['sluice.provider'] = ctx.target.provider;
    if (ctx.cacheResult !== null) attributes['sluice.cache'] = ctx.cacheResult;
    if (ctx.fallbackModel !== null) attributes['sluice.fallback'] = ctx.fallbackModel;
    if (ctx.firstByteAt >= 0) attributes['sluice.time_to_first_byte_ms'] = ctx.firstByteAt - ctx.startedAt;
    if (ctx.upstreamMs >= 0) attributes['sluice.upstream_ms'] = ctx.upstreamMs;
    if (ctx.usage !== null) {
      attributes['gen_ai.usage.input_tokens'] = ctx.usage.promptTokens;
      attributes['gen_ai.usage.output_tokens'] = ctx.usage.completionTokens;
    }
    if (ctx.clientGone) attributes['sluice.client_gone'] = true;
    if (ctx.errorCode !== null) attributes['error.type'] = ctx.errorCode;
    const span = this.#tracer.startSpan(`${operation[ctx.endpoint]} ${ctx.route.name}`, { kind: SpanKind.SERVER, startTime: toEpoch + ctx.startedAt, attributes }, parent);
    if (ctx.errorCode !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.errorCode });
    const inRequest = trace.setSpan(parent, span);
    for (const a of ctx.attempts) this.#recordAttempt(ctx, a, inRequest, toEpoch);
    span.end(toEpoch + ctx.endedAt);
  }

  #recordAttempt(ctx: RequestSummary, a: UpstreamAttempt, parent: Context, toEpoch: number): void {
    const model = a.target.model ?? ctx.model;
    const attributes: Attributes = { 'gen_ai.provider.name': a.target.provider, 'gen_ai.request.model': model, 'sluice.target': `${a.target.provider}/${a.target.model ?? '*'}` };
    if (a.error !== null) {
      attributes['error.type'] = a.error.code;
      // The upstream's own status, when it answered with an error (not the gateway's 502/504).
      if (a.error.code === 'SLUICE_ERR_UPSTREAM_STATUS') attributes['http.response.status_code'] = a.error.status;
    }
    const span = this.#tracer.startSpan(`${operation[ctx.endpoint]} ${model}`, { kind: SpanKind.CLIENT, startTime: toEpoch + a.startedAt, attributes }, parent);
    if (a.error !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: a.error.message });
    span.end(toEpoch + a.endedAt);
  }

  /** Stops listening and exports what is buffered. */
  async shutdown(): Promise<void> {
    this.#listening = false;
    await this.#provider.shutdown();
  }
}
