/**
 * Load shapes for open-loop runs: custom stages ("10s:100,30s:500,10s:0") and the named
 * profiles. Pure arithmetic, no I/O; docs/bench.md documents the same shapes.
 */
import { parseDuration } from '../lib/units.js';
import { BenchUsageError } from './usage-error.js';

/**
 * One stage: over `durationMs` the arrival rate moves linearly from the previous stage's rate
 * (0 before the first stage) to `rate` requests per second. A 0-duration stage is a step.
 */
export interface Stage {
  readonly durationMs: number;
  readonly rate: number;
}

export const PROFILE_NAMES = ['smoke', 'load', 'stress', 'soak', 'spike'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Profile {
  readonly name: ProfileName;
  /** The profile's reference rate R (req/s) that the shape is drawn around. */
  readonly rate: number;
  readonly durationMs: number;
  readonly stages: readonly Stage[];
}

/** Defaults when --rate / --duration are not given. */
export const PROFILE_DEFAULTS: Readonly<Record<ProfileName, { rate: number; durationMs: number; shape: string }>> = {
  smoke: { rate: 5, durationMs: 10_000, shape: 'R req/s for all of D' },
  load: { rate: 100, durationMs: 300_000, shape: 'ramp 0→R over 10% of D, hold R for 80%, ramp R→0 over 10%' },
  stress: { rate: 500, durationMs: 300_000, shape: 'ramp 0→R over 20%, hold R 20%, ramp R→2R 20%, hold 2R 20%, ramp 2R→0 20%' },
  soak: { rate: 100, durationMs: 3_600_000, shape: 'ramp 0→R over 5%, hold R for 90%, ramp R→0 over 5%' },
  spike: { rate: 1000, durationMs: 120_000, shape: 'step to R/10, hold 40%, ramp to R in 2%, hold R 16%, ramp to R/10 in 2%, hold 40%' },
};

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/** Stages of a named profile for a reference rate R and a total duration D. */
export function profileStages(name: ProfileName, rate?: number, durationMs?: number): Profile {
  const d = PROFILE_DEFAULTS[name];
  const R = rate ?? d.rate;
  const D = durationMs ?? d.durationMs;
  if (!(R > 0) || !Number.isFinite(R)) throw new BenchUsageError(`profile ${name}: the rate must be a positive number of requests per second`);
  if (!(D > 0) || !Number.isFinite(D)) throw new BenchUsageError(`profile ${name}: the duration must be positive`);
  const at = (fraction: number, r: number): Stage => ({ durationMs: D * fraction, rate: r });
  let stages: Stage[];
  switch (name) {
    case 'smoke':
      stages = [at(0, R), at(1, R)];
      break;
    case 'load':
      stages = [at(0.1, R), at(0.8, R), at(0.1, 0)];
      break;
    case 'stress':
      stages = [at(0.2, R), at(0.2, R), at(0.2, 2 * R), at(0.2, 2 * R), at(0.2, 0)];
      break;
    case 'soak':
      stages = [at(0.05, R), at(0.9, R), at(0.05, 0)];
      break;
    case 'spike':
      stages = [at(0, R / 10), at(0.4, R / 10), at(0.02, R), at(0.16, R), at(0.02, R / 10), at(0.4, R / 10)];
      break;
  }
  return { name, rate: R, durationMs: D, stages };
}

/** A constant rate for a duration: a step to `rate`, then held. */
export function constantStages(rate: number, durationMs: number): Stage[] {
  return [
    { durationMs: 0, rate },
    { durationMs, rate },
  ];
}

/**
 * Parses "10s:100,30s:500,10s:0": comma-separated DURATION:RATE pairs, DURATION with a unit
 * (ms, s, m, h), RATE in requests per second. Each stage ramps linearly from the previous
 * rate; "0s:100" steps at once. Throws BenchUsageError naming the bad part.
 */
export function parseStages(spec: string): Stage[] {
  const parts = spec.split(',');
  const stages: Stage[] = [];
  parts.forEach((raw, i) => {
    const part = raw.trim();
    const where = `--stages: stage ${i + 1} (${JSON.stringify(part)})`;
    const colon = part.indexOf(':');
    if (part === '' || colon === -1) throw new BenchUsageError(`${where}: expected DURATION:RATE, e.g. 30s:500`);
    const durText = part.slice(0, colon).trim();
    const rateText = part.slice(colon + 1).trim();
    const durationMs = parseDuration(durText);
    if (durationMs === null) throw new BenchUsageError(`${where}: ${JSON.stringify(durText)} is not a duration (use a unit: 500ms, 30s, 5m)`);
    const rate = Number(rateText.replace(/\/s$/, ''));
    if (rateText === '' || !Number.isFinite(rate) || rate < 0) throw new BenchUsageError(`${where}: ${JSON.stringify(rateText)} is not a rate (requests per second, 0 or more)`);
    stages.push({ durationMs, rate });
  });
  if (stages.every((s) => s.durationMs === 0)) throw new BenchUsageError('--stages: the stages add up to no time at all');
  return stages;
}

export function totalDurationMs(stages: readonly Stage[]): number {
  return stages.reduce((sum, s) => sum + s.durationMs, 0);
}

/** "10s:100,30s:500" — the canonical text of stages, for output. */
export function formatStages(stages: readonly Stage[]): string {
  return stages.map((s) => `${formatMs(s.durationMs)}:${round(s.rate)}`).join(',');
}

function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
