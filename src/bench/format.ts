/** Human-readable output: the summary printed at the end and the live progress line. */
import type { LatencySummary } from './histogram.js';
import { percentileMs } from './histogram.js';
import type { Progress } from './runner.js';
import type { BenchResult } from './result.js';

export function fmtMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

function fmtRate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

function line(label: string, s: LatencySummary, note = ''): string {
  if (s.count === 0) return `  ${label.padEnd(12)}no data${note}`;
  return `  ${label.padEnd(12)}p50 ${fmtMs(s.p50)} ms  p90 ${fmtMs(s.p90)}  p99 ${fmtMs(s.p99)}  p99.9 ${fmtMs(s.p999)}  max ${fmtMs(s.max)}${note}`;
}

export function formatSummary(r: BenchResult): string {
  const out: string[] = [];
  const shape = r.mode === 'open' ? `open loop, ${r.load.description ?? r.load.stages ?? ''}` : `closed loop, ${r.load.concurrency ?? 0} workers`;
  out.push(`sluice bench  ${r.url}  POST ${r.endpoint} (${r.stream ? 'stream' : 'JSON'}; ${shape})`);
  const errPct = r.counts.attempts === 0 ? 0 : (r.counts.errors / r.counts.attempts) * 100;
  out.push(
    `  ${'requests'.padEnd(12)}${r.mode === 'open' ? `${r.counts.scheduled} scheduled, ` : ''}${r.counts.sent} sent, ${r.counts.ok} ok, ${r.counts.errors} errors (${errPct.toFixed(errPct > 0 && errPct < 0.01 ? 4 : 2)}%) in ${(r.elapsedMs / 1000).toFixed(2)} s${r.aborted ? ' (interrupted)' : ''}`,
  );
  out.push(`  ${'rate'.padEnd(12)}${r.rates.scheduled === null ? '' : `${fmtRate(r.rates.scheduled)}/s scheduled, `}${fmtRate(r.rates.sent)}/s sent, ${fmtRate(r.rates.ok)}/s ok`);
  out.push(line('latency', r.latency, r.latencyFrom === 'schedule' ? '   (from the scheduled start)' : '   (closed loop: from send; queueing is hidden, use open loop for latency)'));
  if (r.latencyFrom === 'schedule') out.push(line('service', r.serviceTime, '   (from send)'));
  if (r.startLag !== null) out.push(line('start lag', r.startLag, '   (how late the generator started requests)'));
  if (r.streaming !== null) {
    out.push(line('ttft', r.streaming.ttft, `   (${r.streaming.tokens} tokens)`));
    out.push(line('token gap', r.streaming.interToken));
    out.push(line('worst gap', r.streaming.maxGapPerStream, '   (per stream)'));
  }
  const kinds = Object.entries(r.errors);
  if (kinds.length > 0) {
    out.push(`  ${'errors'.padEnd(12)}${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const [k, msg] of Object.entries(r.errorSamples)) out.push(`  ${''.padEnd(12)}${k}: ${msg.slice(0, 160)}`);
  }
  const src = r.sourceAddresses === null ? '' : ` from ${r.sourceAddresses.length} source addresses`;
  out.push(`  ${'in flight'.padEnd(12)}max ${r.maxInFlight}${r.stream ? `, streams open max ${r.maxOpenStreams}` : ''}; up to ${r.connections} connections${src}`);
  if (r.slo !== null) {
    for (const s of r.slo) out.push(`  ${'SLO'.padEnd(12)}${s.text.padEnd(18)}${s.ok ? 'ok  ' : 'FAIL'}  (measured ${s.actual === null ? 'nothing' : round(s.actual)})`);
  }
  return `${out.join('\n')}\n`;
}

/** One line, rewritten in place on a terminal: elapsed, rates, p99 so far, errors. */
export function formatProgress(p: Progress, intervalMs: number): string {
  const r = p.recorder;
  const perS = 1000 / intervalMs;
  const p99 = percentileMs(r.latency, 99);
  const sched = p.point.scheduled > 0 ? ` (sched ${fmtRate(p.point.scheduled * perS)}/s)` : '';
  return `${(p.elapsedMs / 1000).toFixed(1).padStart(6)}s  sent ${r.sent}${sched}  ok ${fmtRate(p.point.ok * perS)}/s  p99 ${p99 === null ? '-' : `${fmtMs(p99)} ms`}  in flight ${r.inFlight}${r.openStreams > 0 ? `  streams ${r.openStreams}` : ''}  errors ${r.errors}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
