/**
 * Drives a run. Open loop: requests start when the schedule says, whether or not earlier ones
 * finished, and latency counts from the scheduled time, so a target that stalls shows the
 * stall in every request queued behind it (no coordinated omission). Closed loop: N workers
 * each send the next request when the last one finished; that measures maximum throughput,
 * and its latency figure hides queueing, which the output says.
 */
import { setMaxListeners } from 'node:events';
import { LoadClient, type RequestTemplate } from './client.js';
import { Recorder, type TimelinePoint } from './recorder.js';
import { ArrivalSchedule } from './schedule.js';
import { constantStages, type Stage } from './stages.js';
import type { Target } from './target.js';

export type LoadPlan =
  | {
      mode: 'open';
      schedule: ArrivalSchedule;
      stages: readonly Stage[];
      /** What the user asked for, e.g. "profile load (R=100/s, D=5m)". */
      description: string;
    }
  | { mode: 'closed'; concurrency: number; durationMs: number | null };

export interface BenchPlan {
  /** The base URL as given. */
  url: string;
  target: Target;
  template: RequestTemplate;
  load: LoadPlan;
  /** Stop starting requests after this many (null: no limit). */
  maxRequests: number | null;
  connections: number;
  sourceAddresses: string[] | null;
  /** Open loop: requests due while this many run wait (their latency still counts from the schedule). */
  maxInFlight: number;
  /** How long requests still running when the schedule ends may take before being cut off. */
  graceMs: number;
  /** Timeline and progress interval. */
  intervalMs: number;
}

export interface Progress {
  elapsedMs: number;
  point: TimelinePoint;
  recorder: Recorder;
}

export interface BenchHooks {
  /** Called once the run's recorder exists, before the first request (live sampling). */
  onStart?(recorder: Recorder): void;
  /** Called at every interval (progress line, memory sampling). */
  onInterval?(progress: Progress): void;
  /** Aborting stops starting requests and cuts off those in flight at once. */
  signal?: AbortSignal;
  /**
   * A client to reuse (a warm-up's, so its connections are open already); it is left open
   * unless requests had to be cut off, which destroys it (check `destroyed`).
   */
  client?: LoadClient;
}

export interface BenchRun {
  plan: BenchPlan;
  recorder: Recorder;
  startedAt: Date;
  /** From the start to the last request's end (or the cut-off). */
  elapsedMs: number;
  /** From the start until the generator stopped starting requests. */
  sendingMs: number;
  /** True when the run was aborted by the signal. */
  aborted: boolean;
}

export async function runBench(plan: BenchPlan, hooks: BenchHooks = {}): Promise<BenchRun> {
  const owned = hooks.client === undefined || hooks.client.destroyed;
  const client = owned ? newClient(plan) : (hooks.client as LoadClient);
  const rec = new Recorder();
  hooks.onStart?.(rec);
  const startedAt = new Date();
  const t0 = performance.now();
  let cutOff = false;
  let sendingEnd = t0;

  let lastTick = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    lastTick = now;
    const point = rec.tick((now - t0) / 1000);
    hooks.onInterval?.({ elapsedMs: now - t0, point, recorder: rec });
  }, plan.intervalMs);

  const aborted = new Promise<void>((resolve) => {
    if (hooks.signal === undefined) return;
    if (hooks.signal.aborted) resolve();
    setMaxListeners(0, hooks.signal);
    hooks.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  const driver = plan.load.mode === 'open' ? openLoop(plan, plan.load.schedule, client, rec, t0, () => cutOff) : closedLoop(plan, plan.load, client, rec, () => cutOff);
  const sending = driver.sending.then(() => {
    sendingEnd = performance.now();
  });
  // The generator stops starting requests at the end of the plan or on abort, then requests
  // still running get the grace period.
  await Promise.race([sending, aborted]);
  if (hooks.signal?.aborted !== true) {
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      driver.idle,
      aborted,
      new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, plan.graceMs);
      }),
    ]);
    clearTimeout(graceTimer);
  }
  driver.stop();
  if (sendingEnd === t0) sendingEnd = performance.now();
  const end = performance.now();
  cutOff = true;
  const left = rec.inFlight + driver.waiting();
  if (left > 0) {
    rec.onUnfinished(left);
    rec.inFlight = 0;
    await client.destroy();
  } else if (owned) {
    await client.close();
  }
  clearInterval(ticker);
  // The last, partial interval, unless a tick has just closed it.
  if (end - lastTick > plan.intervalMs / 10) {
    const point = rec.tick((end - t0) / 1000);
    hooks.onInterval?.({ elapsedMs: end - t0, point, recorder: rec });
  }
  return { plan, recorder: rec, startedAt, elapsedMs: end - t0, sendingMs: sendingEnd - t0, aborted: hooks.signal?.aborted === true };
}

export function newClient(plan: BenchPlan): LoadClient {
  return new LoadClient(plan.target.origin, { connections: plan.connections, sourceAddresses: plan.sourceAddresses });
}

/**
 * The plan of a warm-up before `plan`: the same requests for `durationMs` at the plan's peak
 * rate (open loop) or with its workers (closed loop), so connections are open and both sides
 * are past JIT compilation when measuring starts. Its results are discarded.
 */
export function warmupPlan(plan: BenchPlan, durationMs: number): BenchPlan {
  const load: LoadPlan =
    plan.load.mode === 'closed'
      ? { ...plan.load, durationMs }
      : (() => {
          const peak = Math.max(...plan.load.stages.map((s) => s.rate));
          const stages = constantStages(peak, durationMs);
          return { mode: 'open' as const, schedule: new ArrivalSchedule(stages), stages, description: `warm-up ${peak}/s` };
        })();
  return { ...plan, load, maxRequests: null };
}

interface Driver {
  /** Resolves when the generator has started (or queued) its last request. */
  sending: Promise<void>;
  /** Resolves when nothing is running or waiting any more. */
  idle: Promise<void>;
  /** Stops starting anything. */
  stop(): void;
  /** Requests due but not started (open loop, behind maxInFlight). */
  waiting(): number;
}

function openLoop(plan: BenchPlan, schedule: ArrivalSchedule, client: LoadClient, rec: Recorder, t0: number, cutOff: () => boolean): Driver {
  const limit = Math.min(schedule.requests, plan.maxRequests ?? Number.POSITIVE_INFINITY);
  // Scheduled times of requests due while maxInFlight were running; a head index, not shift().
  const queue: number[] = [];
  let head = 0;
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  let scheduling = true;
  let resolveSending!: () => void;
  let resolveIdle!: () => void;
  const sending = new Promise<void>((r) => (resolveSending = r));
  const idle = new Promise<void>((r) => (resolveIdle = r));

  const checkIdle = (): void => {
    if (!scheduling && rec.inFlight === 0 && head === queue.length) resolveIdle();
  };
  const start = (scheduledAt: number): void => {
    const sentAt = performance.now();
    rec.onSent(sentAt - scheduledAt);
    void client.send(plan.template, rec).then((outcome) => {
      if (cutOff()) return;
      rec.onOutcome(outcome, scheduledAt, sentAt);
      if (head < queue.length && !cutOff()) {
        start(queue[head++] as number);
        if (head > 4096 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
      }
      checkIdle();
    });
  };
  const finish = (): void => {
    scheduling = false;
    resolveSending();
    checkIdle();
  };
  const pump = (): void => {
    timer = undefined;
    const now = performance.now();
    while (i < limit) {
      const at = t0 + (schedule.timeOf(i) as number);
      if (at > now) {
        // Timers have millisecond resolution; waking at or after the due time keeps requests
        // from starting early, and any lateness is measured (startLag) and counted in latency.
        timer = setTimeout(pump, Math.ceil(at - now));
        return;
      }
      i++;
      rec.onScheduled();
      if (rec.inFlight < plan.maxInFlight) start(at);
      else queue.push(at);
    }
    finish();
  };
  pump();
  return {
    sending,
    idle,
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      if (scheduling) finish();
    },
    waiting: () => queue.length - head,
  };
}

function closedLoop(plan: BenchPlan, load: { concurrency: number; durationMs: number | null }, client: LoadClient, rec: Recorder, cutOff: () => boolean): Driver {
  const deadline = load.durationMs === null ? Number.POSITIVE_INFINITY : performance.now() + load.durationMs;
  const limit = plan.maxRequests ?? Number.POSITIVE_INFINITY;
  let launched = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveSending!: () => void;
  const sending = new Promise<void>((r) => (resolveSending = r));
  if (Number.isFinite(deadline)) timer = setTimeout(() => resolveSending(), load.durationMs ?? 0);

  const worker = async (): Promise<void> => {
    while (!stopped && launched < limit && performance.now() < deadline) {
      launched++;
      rec.onScheduled();
      const sentAt = performance.now();
      rec.onSent(null);
      const outcome = await client.send(plan.template, rec);
      if (cutOff()) return;
      rec.onOutcome(outcome, sentAt, sentAt);
    }
  };
  const idle = Promise.all(Array.from({ length: load.concurrency }, () => worker())).then(() => {
    clearTimeout(timer);
    resolveSending();
  });
  return {
    sending,
    idle,
    stop() {
      stopped = true;
      clearTimeout(timer);
      resolveSending();
    },
    waiting: () => 0,
  };
}
