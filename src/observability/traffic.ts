import type { Clock } from '../lib/clock.js';
import type { RequestSummary, ServiceSummary } from '../exchange/summary.js';
import type { EventBus } from './events.js';

/** Width of one bucket of the ring. */
export const TRAFFIC_BUCKET_MS = 5_000;
/** Buckets kept: 15 minutes of 5 s buckets. */
export const TRAFFIC_BUCKETS = 180;

/**
 * Latency histogram bins: bin i counts latencies up to 2^(i/4) ms (bin 0 also counts 0 ms),
 * so each bin is about 19% wider than the one before; the last one (2^20 ms, about 17 minutes)
 * takes everything longer. A quantile is reported as its bin's upper bound: at most 19% high.
 */
const BINS = 81;
const BIN_UPPER: readonly number[] = Array.from({ length: BINS }, (_, i) => 2 ** (i / 4));

function binOf(ms: number): number {
  if (ms <= 1) return 0;
  return Math.min(BINS - 1, Math.ceil(4 * Math.log2(ms)));
}

/** The counts of one series (all traffic, one route, provider or service) in one bucket. */
class Cell {
  requests = 0;
  clientErrors = 0;
  serverErrors = 0;
  readonly latency = new Uint32Array(BINS);

  add(status: number, ms: number): void {
    this.requests++;
    if (status >= 500) this.serverErrors++;
    else if (status >= 400) this.clientErrors++;
    this.latency[binOf(ms)]!++;
  }

  clear(): void {
    this.requests = 0;
    this.clientErrors = 0;
    this.serverErrors = 0;
    this.latency.fill(0);
  }
}

/** One time slot of the ring: which 5 s it holds now, and a cell per series seen in it. */
class Bucket {
  /** The bucket's start, in epoch ms; -1 before first use. */
  start = -1;
  readonly overall = new Cell();
  /** Name → cell, per kind of series; cells are reused when the slot turns over. */
  readonly routes = new Map<string, Cell>();
  readonly providers = new Map<string, Cell>();
  readonly services = new Map<string, Cell>();
}

type Kind = 'routes' | 'providers' | 'services';
const KINDS: readonly Kind[] = ['routes', 'providers', 'services'];

/** One point of a series: counts over `step` seconds and latency quantiles in ms (null without requests). */
export interface TrafficPoint {
  /** The point's start, ISO time. */
  readonly at: string;
  readonly requests: number;
  /** Requests per second over the point. */
  readonly rps: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A series over the window: its points, oldest first, and its totals. */
export interface TrafficSeries {
  readonly points: readonly TrafficPoint[];
  readonly total: Omit<TrafficPoint, 'at'>;
}

export interface TrafficView {
  readonly windowSeconds: number;
  readonly stepSeconds: number;
  /** The window's end (exclusive), ISO time. */
  readonly until: string;
  readonly overall: TrafficSeries;
  readonly routes: Readonly<Record<string, TrafficSeries>>;
  readonly providers: Readonly<Record<string, TrafficSeries>>;
  readonly services: Readonly<Record<string, TrafficSeries>>;
}

/**
 * This instance's live traffic over the last 15 minutes (issue 20's console): a ring of 5 s
 * buckets, each with request and error counts and a fixed-size latency histogram per series
 * (all traffic, each route, provider and HTTP service), fed from finished requests' summaries.
 * Recording is O(1) and allocates nothing once a series is known: a bucket index, up to two
 * map lookups and a histogram increment per series; a slot
 * is cleared in place when time moves past it. Memory is bounded by the config (series are
 * routes, providers and services), never by the traffic.
 */
export class TrafficRing {
  readonly #clock: Clock;
  readonly #buckets: Bucket[] = Array.from({ length: TRAFFIC_BUCKETS }, () => new Bucket());

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Subscribes to finished model and service requests. */
  listen(bus: EventBus): this {
    bus.on('request:end', (s) => this.recordRequest(s));
    bus.on('http:end', (s) => this.recordService(s));
    return this;
  }

  recordRequest(s: RequestSummary): void {
    const bucket = this.#current();
    const ms = s.endedAt - s.startedAt;
    bucket.overall.add(s.status, ms);
    cellOf(bucket.routes, s.route.name).add(s.status, ms);
    if (s.target !== null) cellOf(bucket.providers, s.target.provider).add(s.status, ms);
  }

  recordService(s: ServiceSummary): void {
    const bucket = this.#current();
    const ms = s.endedAt - s.startedAt;
    bucket.overall.add(s.status, ms);
    cellOf(bucket.services, s.service).add(s.status, ms);
  }

  #current(): Bucket {
    const start = Math.floor(this.#clock.now() / TRAFFIC_BUCKET_MS) * TRAFFIC_BUCKET_MS;
    const bucket = this.#buckets[(start / TRAFFIC_BUCKET_MS) % TRAFFIC_BUCKETS]!;
    if (bucket.start !== start) {
      bucket.start = start;
      bucket.overall.clear();
      for (const kind of KINDS) for (const cell of bucket[kind].values()) cell.clear();
    }
    return bucket;
  }

  /**
   * The last `windowSeconds` (a multiple of 5, at most 900) in points of `stepSeconds` (a
   * multiple of 5 dividing the window), ending with the bucket in progress.
   */
  view(windowSeconds: number, stepSeconds: number): TrafficView {
    const bucketsPerStep = stepSeconds / (TRAFFIC_BUCKET_MS / 1000);
    const steps = windowSeconds / stepSeconds;
    const currentStart = Math.floor(this.#clock.now() / TRAFFIC_BUCKET_MS) * TRAFFIC_BUCKET_MS;
    const until = currentStart + TRAFFIC_BUCKET_MS;
    const from = until - windowSeconds * 1000;
    const live = this.#buckets.filter((b) => b.start >= from && b.start < until);
    const seriesOf = (pick: (b: Bucket) => Cell | undefined): TrafficSeries => {
      const points: TrafficPoint[] = [];
      const all = new Aggregate();
      for (let i = 0; i < steps; i++) {
        const pointStart = from + i * stepSeconds * 1000;
        const agg = new Aggregate();
        for (const b of live) {
          if (b.start < pointStart || b.start >= pointStart + bucketsPerStep * TRAFFIC_BUCKET_MS) continue;
          const cell = pick(b);
          if (cell === undefined) continue;
          agg.add(cell);
          all.add(cell);
        }
        points.push({ at: new Date(pointStart).toISOString(), ...agg.summary(stepSeconds) });
      }
      return { points, total: all.summary(windowSeconds) };
    };
    // The series with requests in the window, by name.
    const byKind = (kind: Kind): Record<string, TrafficSeries> => {
      const names = new Set<string>();
      for (const b of live) for (const [name, cell] of b[kind]) if (cell.requests > 0) names.add(name);
      const out: Record<string, TrafficSeries> = {};
      for (const name of [...names].sort()) out[name] = seriesOf((b) => b[kind].get(name));
      return out;
    };
    return {
      windowSeconds,
      stepSeconds,
      until: new Date(until).toISOString(),
      overall: seriesOf((b) => b.overall),
      routes: byKind('routes'),
      providers: byKind('providers'),
      services: byKind('services'),
    };
  }
}

function cellOf(cells: Map<string, Cell>, name: string): Cell {
  let cell = cells.get(name);
  if (cell === undefined) cells.set(name, (cell = new Cell()));
  return cell;
}

/** Cells summed over several buckets. */
class Aggregate {
  requests = 0;
  clientErrors = 0;
  serverErrors = 0;
  readonly latency = new Uint32Array(BINS);

  add(cell: Cell): void {
    this.requests += cell.requests;
    this.clientErrors += cell.clientErrors;
    this.serverErrors += cell.serverErrors;
    for (let i = 0; i < BINS; i++) this.latency[i]! += cell.latency[i]!;
  }

  summary(seconds: number): Omit<TrafficPoint, 'at'> {
    return {
      requests: this.requests,
      rps: Math.round((this.requests / seconds) * 1000) / 1000,
      errors4xx: this.clientErrors,
      errors5xx: this.serverErrors,
      p50: this.#quantile(0.5),
      p95: this.#quantile(0.95),
      p99: this.#quantile(0.99),
    };
  }

  /** The upper bound of the bin holding the q-quantile, in ms rounded to 0.1; null without requests. */
  #quantile(q: number): number | null {
    if (this.requests === 0) return null;
    const rank = Math.ceil(q * this.requests);
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.latency[i]!;
      if (seen >= rank) return Math.round(BIN_UPPER[i]! * 10) / 10;
    }
    return Math.round(BIN_UPPER[BINS - 1]! * 10) / 10;
  }
}
