/**
 * The result of a run as plain data: what `--json` prints, what the HTML report draws, and
 * what bench/compare stores. Every latency is in milliseconds.
 */
import type { Histogram } from './histogram.js';
import { percentileCurve, percentileMs, summarize, type CurvePoint, type LatencySummary } from './histogram.js';
import type { TimelinePoint } from './recorder.js';
import type { BenchRun } from './runner.js';
import type { LatencySource, LatencyStat, SloFacts, SloResult } from './slo.js';
import { formatStages } from './stages.js';

export interface BenchResult {
  tool: 'sluice bench';
  url: string;
  endpoint: string;
  stream: boolean;
  mode: 'open' | 'closed';
  /** Open loop: the stages (and what was asked); closed loop: the concurrency. */
  load: { stages?: string; description?: string; concurrency?: number; scheduledRate?: number };
  startedAt: string;
  elapsedMs: number;
  sendingMs: number;
  aborted: boolean;
  counts: { scheduled: number; sent: number; ok: number; errors: number; attempts: number; tokens: number };
  /** Requests per second: scheduled (asked for, open loop), sent, and answered ok. */
  rates: { scheduled: number | null; sent: number; ok: number };
  /**
   * Open loop: from each request's scheduled start to its last byte (queueing included).
   * Closed loop: from send to last byte (queueing hidden).
   */
  latency: LatencySummary;
  latencyFrom: 'schedule' | 'send';
  /** From the moment each request was handed to the HTTP client. */
  serviceTime: LatencySummary;
  /** Open loop only: how late the generator started requests against the schedule. */
  startLag: LatencySummary | null;
  streaming: { ttft: LatencySummary; interToken: LatencySummary; maxGapPerStream: LatencySummary; tokens: number } | null;
  errors: Record<string, number>;
  errorSamples: Record<string, string>;
  maxInFlight: number;
  maxOpenStreams: number;
  connections: number;
  sourceAddresses: string[] | null;
  timeline: TimelinePoint[];
  percentiles: CurvePoint[];
  ttftPercentiles: CurvePoint[] | null;
  slo: SloResult[] | null;
  generator: { node: string; pid: number; platform: string };
}

export function buildResult(run: BenchRun): BenchResult {
  const { plan, recorder: r } = run;
  const open = plan.load.mode === 'open';
  const sendingS = run.sendingMs / 1000;
  const elapsedS = run.elapsedMs / 1000;
  const streams = plan.template.stream && r.ttft.totalCount > 0;
  const load: BenchResult['load'] =
    plan.load.mode === 'open'
      ? { stages: formatStages(plan.load.stages), description: plan.load.description, scheduledRate: round(plan.load.schedule.requests / (plan.load.schedule.durationMs / 1000)) }
      : { concurrency: plan.load.concurrency };
  return {
    tool: 'sluice bench',
    url: plan.url,
    endpoint: plan.target.path,
    stream: plan.template.stream,
    mode: plan.load.mode,
    load,
    startedAt: run.startedAt.toISOString(),
    elapsedMs: round(run.elapsedMs),
    sendingMs: round(run.sendingMs),
    aborted: run.aborted,
    counts: { scheduled: r.scheduled, sent: r.sent, ok: r.ok, errors: r.errors, attempts: r.attempts, tokens: r.tokens },
    rates: {
      scheduled: open && sendingS > 0 ? round(r.scheduled / sendingS) : null,
      sent: sendingS > 0 ? round(r.sent / sendingS) : 0,
      ok: elapsedS > 0 ? round(r.ok / elapsedS) : 0,
    },
    latency: summarize(r.latency),
    latencyFrom: open ? 'schedule' : 'send',
    serviceTime: summarize(r.service),
    startLag: open ? summarize(r.startLag) : null,
    streaming: streams ? { ttft: summarize(r.ttft), interToken: summarize(r.itl), maxGapPerStream: summarize(r.maxGap), tokens: r.tokens } : null,
    errors: Object.fromEntries([...r.errorKinds.entries()].sort((a, b) => b[1] - a[1])),
    errorSamples: Object.fromEntries(r.errorSamples),
    maxInFlight: r.maxInFlight,
    maxOpenStreams: r.maxOpenStreams,
    connections: plan.connections,
    sourceAddresses: plan.sourceAddresses,
    timeline: r.timeline,
    percentiles: percentileCurve(r.latency),
    ttftPercentiles: streams ? percentileCurve(r.ttft) : null,
    slo: null,
    generator: { node: process.version, pid: process.pid, platform: `${process.platform}-${process.arch}` },
  };
}

/** The facts an SLO check needs, read from the run's histograms. */
export function sloFacts(run: BenchRun): SloFacts {
  const r = run.recorder;
  const hist: Record<LatencySource, Histogram> = { latency: r.latency, ttft: r.ttft, itl: r.itl };
  return {
    latency(source: LatencySource, stat: LatencyStat): number | null {
      const h = hist[source];
      if (h.totalCount === 0) return null;
      if (stat === 'mean') return Math.round(h.mean) / 1000;
      return percentileMs(h, stat === 'max' ? 100 : stat);
    },
    errors: r.errors,
    attempts: r.attempts,
    rate: run.elapsedMs > 0 ? r.ok / (run.elapsedMs / 1000) : 0,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
