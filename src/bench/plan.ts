/**
 * Turns the command-line options into a run plan, checking every value and every combination
 * before anything is sent. Throws BenchUsageError with a message naming the flag.
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from '../lib/units.js';
import type { RequestTemplate } from './client.js';
import type { BenchPlan, LoadPlan } from './runner.js';
import { ArrivalSchedule } from './schedule.js';
import { parseSlo, type Slo } from './slo.js';
import { constantStages, formatStages, isProfileName, parseStages, PROFILE_NAMES, profileStages, totalDurationMs, type Stage } from './stages.js';
import { resolveTarget, sourceAddresses, type Endpoint } from './target.js';
import { BenchUsageError } from './usage-error.js';

export const DEFAULT_URL = 'http://127.0.0.1:8787/v1';

/** The raw option values, as node:util parseArgs returns them. */
export interface BenchOptions {
  rate?: string;
  stages?: string;
  profile?: string;
  concurrency?: string;
  mode?: string;
  duration?: string;
  requests?: string;
  endpoint?: string;
  path?: string;
  method?: string;
  model?: string;
  stream?: boolean;
  prompt?: string;
  'max-tokens'?: string;
  body?: string;
  header?: string[];
  'api-key'?: string;
  timeout?: string;
  grace?: string;
  connections?: string;
  'max-in-flight'?: string;
  'source-addresses'?: string;
  'allow-remote'?: boolean;
  interval?: string;
  slo?: string;
}

export interface PlannedRun {
  plan: BenchPlan;
  slos: Slo[] | null;
}

function int(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new BenchUsageError(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/\/s$/, ''));
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new BenchUsageError(`${flag}: expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function duration(value: string | undefined, flag: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null || (!allowZero && ms <= 0)) throw new BenchUsageError(`${flag}: expected a duration with a unit (500ms, 10s, 5m), got ${JSON.stringify(value)}`);
  return ms;
}

const ENDPOINTS: readonly Endpoint[] = ['chat', 'completions', 'embeddings'];

function buildLoad(o: BenchOptions, requests: number | undefined): LoadPlan {
  const rate = positive(o.rate, '--rate');
  const durationMs = duration(o.duration, '--duration');
  const concurrency = int(o.concurrency, '--concurrency', 1, 100_000);
  const shaped = o.rate !== undefined || o.stages !== undefined || o.profile !== undefined;
  const mode = o.mode ?? (concurrency !== undefined && !shaped ? 'closed' : 'open');
  if (mode !== 'open' && mode !== 'closed') throw new BenchUsageError(`--mode: expected open or closed, got ${JSON.stringify(mode)}`);

  if (mode === 'closed') {
    if (shaped) throw new BenchUsageError('--rate, --stages and --profile shape an open-loop run; a closed loop takes --concurrency');
    return { mode: 'closed', concurrency: concurrency ?? 50, durationMs: durationMs ?? (requests === undefined ? 10_000 : null) };
  }
  if (concurrency !== undefined) throw new BenchUsageError('--concurrency is for a closed loop (--mode closed); an open loop takes --rate, --stages or --profile');
  if (o.stages !== undefined && (o.rate !== undefined || o.profile !== undefined)) throw new BenchUsageError('--stages cannot be combined with --rate or --profile');

  let stages: Stage[];
  let description: string;
  if (o.stages !== undefined) {
    stages = parseStages(o.stages);
    description = `stages ${formatStages(stages)}`;
  } else if (o.profile !== undefined || o.rate === undefined) {
    const name = o.profile ?? 'smoke';
    if (!isProfileName(name)) throw new BenchUsageError(`--profile: expected one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
    const p = profileStages(name, rate, durationMs);
    stages = [...p.stages];
    description = `profile ${name}, R=${p.rate}/s over ${p.durationMs / 1000}s`;
  } else {
    const r = rate as number;
    // A request count without a duration bounds the run by count alone.
    const d = durationMs ?? (requests !== undefined ? Math.ceil((requests / r) * 1000) : 10_000);
    stages = constantStages(r, d);
    description = `${r}/s for ${d / 1000}s`;
  }
  const limit = durationMs ?? totalDurationMs(stages);
  const schedule = new ArrivalSchedule(stages, limit);
  if (schedule.requests === 0) throw new BenchUsageError('the load shape schedules no requests at all');
  return { mode: 'open', schedule, stages, description };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The common headers: extra ones (--header) and the API key. */
function requestHeaders(o: BenchOptions, base: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...base, 'user-agent': 'sluice-bench' };
  for (const h of o.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new BenchUsageError(`--header: expected "Name: value", got ${JSON.stringify(h)}`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (o['api-key'] !== undefined) headers.authorization = `Bearer ${o['api-key']}`;
  return headers;
}

/**
 * `--path`: a request to any path of the target's origin (an HTTP service behind Sluice, a
 * health endpoint), GET by default, POST with `--body` (the file's bytes as they are).
 */
function pathTemplate(o: BenchOptions, path: string): RequestTemplate {
  for (const flag of ['endpoint', 'model', 'stream', 'prompt', 'max-tokens'] as const) {
    if (o[flag] !== undefined) throw new BenchUsageError(`--${flag} applies to model endpoints, not to --path`);
  }
  if (!path.startsWith('/')) throw new BenchUsageError(`--path: expected an absolute path such as /api/v1/health, got ${JSON.stringify(path)}`);
  let body: string | null = null;
  if (o.body !== undefined) {
    try {
      body = readFileSync(o.body, 'utf8');
    } catch (err) {
      throw new BenchUsageError(`--body: cannot read ${o.body}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const method = (o.method ?? (body === null ? 'GET' : 'POST')).toUpperCase();
  if (!(METHODS as readonly string[]).includes(method)) throw new BenchUsageError(`--method: expected one of ${METHODS.join(', ')}, got ${JSON.stringify(o.method)}`);
  if (body !== null && (method === 'GET' || method === 'HEAD')) throw new BenchUsageError(`--body: a ${method} request has no body`);
  const headers = requestHeaders(o, body === null ? { accept: '*/*' } : { 'content-type': 'application/json', accept: '*/*' });
  const timeoutMs = duration(o.timeout, '--timeout') ?? 30_000;
  return { method: method as RequestTemplate['method'], path, headers, body, stream: false, timeoutMs };
}

function buildTemplate(o: BenchOptions, endpoint: Endpoint, path: string): RequestTemplate {
  if (o.method !== undefined && o.method.toUpperCase() !== 'POST') throw new BenchUsageError('--method: model endpoints take POST; use --path for other requests');
  let body: Record<string, unknown>;
  if (o.body !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(o.body, 'utf8'));
    } catch (err) {
      throw new BenchUsageError(`--body: cannot read ${o.body} as JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BenchUsageError('--body: the file must hold a JSON object');
    body = parsed as Record<string, unknown>;
  } else {
    const prompt = o.prompt ?? 'Say hello.';
    body = endpoint === 'chat' ? { messages: [{ role: 'user', content: prompt }] } : endpoint === 'completions' ? { prompt } : { input: prompt };
  }
  if (o.model !== undefined || body.model === undefined) body.model = o.model ?? 'mock-1';
  const maxTokens = int(o['max-tokens'], '--max-tokens', 1);
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  if (o.stream === true) body.stream = true;
  const stream = body.stream === true;
  if (stream && endpoint === 'embeddings') throw new BenchUsageError('--stream: embeddings do not stream');

  const headers = requestHeaders(o, { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' });
  const timeoutMs = duration(o.timeout, '--timeout') ?? 30_000;
  return { method: 'POST', path, headers, body: JSON.stringify(body), stream, timeoutMs };
}

export function buildPlan(o: BenchOptions, positionals: string[]): PlannedRun {
  if (positionals.length > 1) throw new BenchUsageError(`expected one URL, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  const url = positionals[0] ?? DEFAULT_URL;
  const endpoint = (o.endpoint ?? 'chat') as Endpoint;
  if (o.path === undefined && !ENDPOINTS.includes(endpoint)) throw new BenchUsageError(`--endpoint: expected one of ${ENDPOINTS.join(', ')}, got ${JSON.stringify(o.endpoint)}`);
  // The target is checked first: a refused URL must not depend on the other flags being right.
  const target = resolveTarget(url, o.path === undefined ? endpoint : 'chat', o['allow-remote'] === true);
  const requests = int(o.requests, '--requests', 1);
  const load = buildLoad(o, requests);
  const template = o.path === undefined ? buildTemplate(o, endpoint, target.path) : pathTemplate(o, o.path);
  const nSources = int(o['source-addresses'], '--source-addresses', 1, 254);
  if (nSources !== undefined && nSources > 1 && !target.ipv4Loopback) {
    throw new BenchUsageError('--source-addresses: spreading over 127.0.0.x needs an IPv4 loopback target such as http://127.0.0.1:8787/v1');
  }
  const maxInFlight = int(o['max-in-flight'], '--max-in-flight', 1) ?? 10_000;
  const connections = int(o.connections, '--connections', 1) ?? (load.mode === 'closed' ? load.concurrency : Math.min(maxInFlight, 1024));
  const slos = o.slo === undefined ? null : parseSlo(o.slo);
  return {
    plan: {
      url,
      target,
      template,
      load,
      maxRequests: requests ?? null,
      connections,
      sourceAddresses: nSources === undefined || nSources === 1 ? null : sourceAddresses(nSources),
      maxInFlight,
      graceMs: duration(o.grace, '--grace', true) ?? template.timeoutMs,
      intervalMs: duration(o.interval, '--interval') ?? 1000,
    },
    slos,
  };
}
