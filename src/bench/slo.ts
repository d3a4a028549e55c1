/**
 * Service-level objectives for CI: "p99<200ms,errors<0.1%". Parsing and checking are pure;
 * the runner supplies the measured facts.
 *
 * Grammar, comma-separated clauses of METRIC OP VALUE:
 *   METRIC  pNN[.N] | max | mean        latency (open loop: from the scheduled start)
 *           ttft.pNN | ttft.max …       time to first token (streams)
 *           itl.pNN  | itl.max …        gaps between tokens (streams)
 *           errors                      VALUE with % is a share of attempts, without a count
 *           rate                        completed responses per second
 *   OP      <  <=  >  >=
 *   VALUE   latency with us, ms or s (bare numbers are ms)
 */
import { BenchUsageError } from './usage-error.js';

export type LatencySource = 'latency' | 'ttft' | 'itl';
export type LatencyStat = number | 'max' | 'mean';
export type SloOp = '<' | '<=' | '>' | '>=';

export type SloMetric =
  | { kind: 'latency'; source: LatencySource; stat: LatencyStat }
  | { kind: 'errors'; percent: boolean }
  | { kind: 'rate' };

export interface Slo {
  /** The clause as written, trimmed. */
  text: string;
  metric: SloMetric;
  op: SloOp;
  /** Milliseconds for latency, a percentage or a count for errors, req/s for rate. */
  value: number;
}

const CLAUSE = /^(?:(ttft|itl)[._])?(p\d+(?:\.\d+)?|max|mean|errors|rate)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|%|\/s)?$/i;
const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

export function parseSlo(spec: string): Slo[] {
  if (spec.trim() === '') throw new BenchUsageError('--slo: empty; expected e.g. "p99<200ms,errors<0.1%"');
  return spec.split(',').map((raw, i) => parseClause(raw.trim(), i + 1));
}

function parseClause(text: string, n: number): Slo {
  const where = `--slo: clause ${n} (${JSON.stringify(text)})`;
  if (text === '') throw new BenchUsageError(`${where}: empty clause`);
  const m = CLAUSE.exec(text);
  if (m === null) throw new BenchUsageError(`${where}: expected METRIC OP VALUE, e.g. p99<200ms, errors<0.1%, rate>=900 (metrics: pNN, max, mean, ttft.pNN, itl.pNN, errors, rate)`);
  const prefix = m[1]?.toLowerCase();
  const name = (m[2] as string).toLowerCase();
  const op = m[3] as SloOp;
  const number = Number(m[4]);
  const unit = m[5]?.toLowerCase();

  if (name === 'errors' || name === 'rate') {
    if (prefix !== undefined) throw new BenchUsageError(`${where}: ${prefix}. applies to latencies only`);
    if (name === 'errors') {
      if (unit !== undefined && unit !== '%') throw new BenchUsageError(`${where}: errors take a percentage (0.1%) or a count (5)`);
      if (unit === '%' && number > 100) throw new BenchUsageError(`${where}: a percentage above 100`);
      return { text, metric: { kind: 'errors', percent: unit === '%' }, op, value: number };
    }
    if (unit !== undefined && unit !== '/s') throw new BenchUsageError(`${where}: rate is in requests per second (rate>=900)`);
    return { text, metric: { kind: 'rate' }, op, value: number };
  }
  if (unit === '%' || unit === '/s') throw new BenchUsageError(`${where}: a latency takes us, ms or s`);
  let stat: LatencyStat;
  if (name === 'max' || name === 'mean') stat = name;
  else {
    stat = Number(name.slice(1));
    if (!(stat > 0 && stat <= 100)) throw new BenchUsageError(`${where}: percentile must be above 0 and at most 100`);
  }
  const factor = TIME_UNITS[unit ?? 'ms'] as number;
  return { text, metric: { kind: 'latency', source: (prefix ?? 'latency') as LatencySource, stat }, op, value: number * factor };
}

/** What a run measured, as the SLO check needs it. */
export interface SloFacts {
  /** A latency statistic in ms, or null when the run has none (no streams, no responses). */
  latency(source: LatencySource, stat: LatencyStat): number | null;
  errors: number;
  /** Requests attempted: answered, failed, or cut off at the end. */
  attempts: number;
  /** Completed responses per second. */
  rate: number;
}

export interface SloResult {
  text: string;
  ok: boolean;
  /** The measured value in the clause's unit (ms, %, count, req/s); null without data. */
  actual: number | null;
}

export function evaluateSlos(slos: readonly Slo[], facts: SloFacts): SloResult[] {
  return slos.map((slo) => {
    let actual: number | null;
    switch (slo.metric.kind) {
      case 'latency':
        actual = facts.latency(slo.metric.source, slo.metric.stat);
        break;
      case 'errors':
        actual = slo.metric.percent ? (facts.attempts === 0 ? null : (facts.errors / facts.attempts) * 100) : facts.errors;
        break;
      case 'rate':
        actual = facts.rate;
        break;
    }
    return { text: slo.text, ok: actual !== null && compare(actual, slo.op, slo.value), actual };
  });
}

function compare(a: number, op: SloOp, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}
