/**
 * `sluice bench`: load any OpenAI-compatible endpoint and report latency honestly (open loop,
 * latency from the scheduled start, HDR percentiles), with an exit code for SLOs in CI.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildPlan, DEFAULT_URL, type BenchOptions } from '../bench/plan.js';
import { formatProgress, formatSummary } from '../bench/format.js';
import { renderReport } from '../bench/report.js';
import { buildResult, sloFacts } from '../bench/result.js';
import type { LoadClient } from '../bench/client.js';
import { newClient, runBench, warmupPlan, type BenchHooks } from '../bench/runner.js';
import { parseDuration } from '../lib/units.js';
import { evaluateSlos } from '../bench/slo.js';
import { PROFILE_DEFAULTS, PROFILE_NAMES } from '../bench/stages.js';
import { BenchUsageError } from '../bench/usage-error.js';

const profileLines = PROFILE_NAMES.map((n) => {
  const d = PROFILE_DEFAULTS[n];
  return `                        ${n.padEnd(7)}R=${d.rate}/s, D=${d.durationMs >= 60_000 ? `${d.durationMs / 60_000}m` : `${d.durationMs / 1000}s`}: ${d.shape}`;
}).join('\n');

export const BENCH_HELP = `Usage: sluice bench [URL] [options]

Loads an OpenAI-compatible endpoint (Sluice, a provider, another gateway) and reports
throughput, latency percentiles (HDR histograms: p50, p90, p99, p99.9, max) and errors by kind.
URL is the API's base URL, as an OpenAI client's baseURL (default ${DEFAULT_URL}).

Open loop (the default): requests start on a schedule whether or not earlier ones finished,
and latency counts from the scheduled start, so queueing in the target shows. Closed loop:
N workers send back to back, for maximum throughput; its latency hides queueing.

Load shape:
      --rate N          Open loop at N requests/s (for --duration, default 10s)
      --stages SPEC     Open loop in stages, e.g. "10s:100,30s:500,10s:0": each stage ramps
                        linearly from the previous rate (0 at first) to its own; "0s:100" steps
      --profile NAME    A named shape around a reference rate R (--rate) and duration D
                        (--duration); the default when no shape is given is smoke:
${profileLines}
      --concurrency N   Closed loop with N workers (default 50 with --mode closed)
      --mode MODE       open or closed (default: closed when only --concurrency is given)
      --duration D      Bound the run in time (10s, 2m); cuts stages short
      --requests N      Bound the run in requests

Requests:
      --endpoint E      chat, completions or embeddings (default chat)
      --model NAME      Model to ask for (default mock-1)
      --stream          Stream the answers; reports time to first token and gaps between tokens
      --prompt TEXT     Prompt text (default "Say hello.")
      --max-tokens N    max_tokens sent with each request
      --body FILE       Send this JSON object as the body (--model, --max-tokens, --stream
                        still apply)
      --path PATH       Instead of a model endpoint: request PATH on the URL's origin (an HTTP
                        service behind Sluice, e.g. /api/v1/rankings); GET, or POST with --body
                        (sent as it is); any 2xx or 3xx counts as a success
      --method M        With --path: GET, HEAD, POST, PUT, PATCH or DELETE
      --header "K: V"   Extra request header (repeatable)
      --api-key KEY     Sent as Authorization: Bearer KEY
      --timeout D       Longest wait for response headers and between two body chunks
                        (default 30s)

Connections:
      --connections N        Most connections (default: the concurrency in a closed loop,
                             1024 in an open loop)
      --max-in-flight N      Open loop: requests due while N are running wait for a slot; their
                             latency still counts from the schedule (default 10000)
      --source-addresses N   Spread connections over 127.0.0.1 … 127.0.0.N, for more ephemeral
                             ports than one address has (IPv4 loopback targets)
      --allow-remote         Allow a target that is not loopback (127.0.0.0/8, ::1, localhost);
                             without it such a target is refused before anything is sent
      --grace D              How long requests still running at the end may take before they
                             are cut off and counted as "unfinished" (default: --timeout)

Output:
      --json            Print the result as JSON (counts, rates, percentiles, errors, timeline)
      --report FILE     Write a self-contained HTML page: latency over time, throughput and
                        the percentile curve (inline SVG, readable offline)
      --slo SPEC        Objectives, e.g. "p99<200ms,errors<0.1%"; exit 1 when one is missed.
                        Metrics: pNN, max, mean (latency), ttft.pNN, itl.pNN (streams),
                        errors (with % a share of requests, without a count), rate (ok/s)
      --warmup D        Send the same requests for D first (at the peak rate, or with the same
                        workers) and discard them: connections open, JIT warm (default none)
      --interval D      Timeline and progress interval (default 1s)
      --quiet           No progress line (it is shown only on a terminal anyway)
  -h, --help            Show this help

Exit status: 0 when the run completed (and every SLO held), 1 when an SLO was missed,
2 for a usage error or a refused target. Ctrl-C stops the run and reports what ran.
`;

export interface BenchIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const OPTIONS = {
  rate: { type: 'string' },
  stages: { type: 'string' },
  profile: { type: 'string' },
  concurrency: { type: 'string', short: 'c' },
  mode: { type: 'string' },
  duration: { type: 'string', short: 'd' },
  requests: { type: 'string', short: 'n' },
  endpoint: { type: 'string' },
  path: { type: 'string' },
  method: { type: 'string' },
  model: { type: 'string', short: 'm' },
  stream: { type: 'boolean' },
  prompt: { type: 'string' },
  'max-tokens': { type: 'string' },
  body: { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  'api-key': { type: 'string' },
  timeout: { type: 'string' },
  grace: { type: 'string' },
  connections: { type: 'string' },
  'max-in-flight': { type: 'string' },
  'source-addresses': { type: 'string' },
  'allow-remote': { type: 'boolean' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  slo: { type: 'string' },
  interval: { type: 'string' },
  warmup: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `sluice bench` with its arguments (after "bench"); resolves with the exit code. */
export async function benchCommand(argv: string[], io: BenchIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr.write(`sluice bench: ${err instanceof Error ? err.message : String(err)}\n(see "sluice bench --help")\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(BENCH_HELP);
    return 0;
  }
  let planned;
  try {
    planned = buildPlan(values as BenchOptions, positionals);
  } catch (err) {
    if (err instanceof BenchUsageError) {
      io.stderr.write(`sluice bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { plan, slos } = planned;
  const warmupMs = values.warmup === undefined ? undefined : parseDuration(values.warmup);
  if (warmupMs === null) {
    io.stderr.write(`sluice bench: --warmup: expected a duration with a unit (5s), got ${JSON.stringify(values.warmup)}\n`);
    return 2;
  }

  // The live line goes where the final output does not: stdout normally, stderr with --json.
  const progressTo = values.json === true ? io.stderr : io.stdout;
  const live = values.quiet !== true && progressTo.isTTY === true;
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  const hooks: BenchHooks = { signal: controller.signal };
  if (live) hooks.onInterval = (p) => progressTo.write(`\r\x1b[K${formatProgress(p, plan.intervalMs)}`);
  let run;
  let client: LoadClient | undefined;
  try {
    if (warmupMs !== undefined) {
      client = newClient(plan);
      await runBench(warmupPlan(plan, warmupMs), { signal: controller.signal, client });
      if (controller.signal.aborted) return 130;
      hooks.client = client;
    }
    run = await runBench(plan, hooks);
  } finally {
    process.off('SIGINT', onSigint);
    if (live) progressTo.write('\r\x1b[K');
    await client?.close();
  }

  const result = buildResult(run);
  if (slos !== null) result.slo = evaluateSlos(slos, sloFacts(run));
  if (values.report !== undefined) writeFileSync(values.report, renderReport(result));
  io.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatSummary(result));
  if (values.report !== undefined && values.json !== true) io.stdout.write(`  report      ${values.report}\n`);
  return result.slo !== null && result.slo.some((s) => !s.ok) ? 1 : 0;
}
