/**
 * Collects what a run measured: HDR histograms, counts, errors by kind, and a timeline of
 * fixed intervals (one small histogram reused per interval, so a long soak costs a few numbers
 * per interval, not a histogram each).
 */
import type { Outcome, RequestObserver } from './client.js';
import { createHistogram, percentileMs, recordMs, type Histogram } from './histogram.js';

export interface TimelinePoint {
  /** End of the interval, seconds since the start. */
  t: number;
  /** Requests due by the schedule in the interval (open loop), started, and finished. */
  scheduled: number;
  sent: number;
  ok: number;
  errors: number;
  /** At the end of the interval. */
  inFlight: number;
  openStreams: number;
  /** Latency of the requests that finished in the interval, ms (0 when none did). */
  p50: number;
  p99: number;
  max: number;
}

export class Recorder implements RequestObserver {
  /** From the reference start: the scheduled time in open loop, the send time in closed loop. */
  readonly latency = createHistogram();
  /** From the moment the request was handed to the HTTP client. */
  readonly service = createHistogram();
  /** Open loop: how late the generator started each request against its schedule. */
  readonly startLag = createHistogram();
  /** Streams: time to the first token (from the reference start), every gap between tokens, and each stream's longest gap. */
  readonly ttft = createHistogram();
  readonly itl = createHistogram();
  readonly maxGap = createHistogram();
  readonly #interval: Histogram = createHistogram();

  scheduled = 0;
  sent = 0;
  ok = 0;
  errors = 0;
  tokens = 0;
  readonly errorKinds = new Map<string, number>();
  /** The first message seen per error kind, to say what went wrong. */
  readonly errorSamples = new Map<string, string>();

  inFlight = 0;
  maxInFlight = 0;
  openStreams = 0;
  maxOpenStreams = 0;
  readonly timeline: TimelinePoint[] = [];

  #iScheduled = 0;
  #iSent = 0;
  #iOk = 0;
  #iErrors = 0;

  onScheduled(): void {
    this.scheduled++;
    this.#iScheduled++;
  }

  /** A request was handed to the client `lagMs` after its scheduled time (null: closed loop). */
  onSent(lagMs: number | null): void {
    this.sent++;
    this.#iSent++;
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    if (lagMs !== null) recordMs(this.startLag, Math.max(0, lagMs));
  }

  /** A request finished; `refStart` is its reference start, `sentAt` when it was sent. */
  onOutcome(outcome: Outcome, refStart: number, sentAt: number): void {
    this.inFlight--;
    if (!outcome.ok) {
      this.error(outcome.kind, outcome.message);
      return;
    }
    this.ok++;
    this.#iOk++;
    const latency = outcome.endedAt - refStart;
    recordMs(this.latency, latency);
    recordMs(this.#interval, latency);
    recordMs(this.service, outcome.endedAt - sentAt);
    if (outcome.firstTokenAt !== null) {
      recordMs(this.ttft, outcome.firstTokenAt - refStart);
      recordMs(this.maxGap, outcome.maxGapMs);
      this.tokens += outcome.tokens;
    }
  }

  /** Requests still running when the run was cut off at its end. */
  onUnfinished(count: number): void {
    for (let i = 0; i < count; i++) this.error('unfinished', 'still running when the run ended (see --grace)');
  }

  error(kind: string, message: string): void {
    this.errors++;
    this.#iErrors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    if (!this.errorSamples.has(kind)) this.errorSamples.set(kind, message);
  }

  streamOpened(): void {
    this.openStreams++;
    if (this.openStreams > this.maxOpenStreams) this.maxOpenStreams = this.openStreams;
  }

  streamClosed(): void {
    this.openStreams--;
  }

  gap(ms: number): void {
    recordMs(this.itl, ms);
  }

  /** Closes the current interval at `tSeconds` and starts the next. */
  tick(tSeconds: number): TimelinePoint {
    const h = this.#interval;
    const point: TimelinePoint = {
      t: Math.round(tSeconds * 1000) / 1000,
      scheduled: this.#iScheduled,
      sent: this.#iSent,
      ok: this.#iOk,
      errors: this.#iErrors,
      inFlight: this.inFlight,
      openStreams: this.openStreams,
      p50: percentileMs(h, 50) ?? 0,
      p99: percentileMs(h, 99) ?? 0,
      max: percentileMs(h, 100) ?? 0,
    };
    this.timeline.push(point);
    h.reset();
    this.#iScheduled = this.#iSent = this.#iOk = this.#iErrors = 0;
    return point;
  }

  get attempts(): number {
    return this.ok + this.errors;
  }
}
