import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';

/**
 * Metrics fed on every request, kept per label set. prom-client hashes the label object on
 * every `observe` and `inc` (validation, a sorted key string, a map lookup): about 10 µs of
 * each request for the request metrics (issue #7). Here a request looks its label set up once
 * (`RequestSeries` in metrics.ts) and adds to plain numbers; prom-client still names, renders
 * and serves the metrics.
 */

/** One label set of a `SeriesCounter`: add to `pending`. */
export interface CounterCell {
  pending: number;
}

/**
 * A prom-client Counter whose hot label sets are cells: what they gathered is added to the
 * counter when it is read (its `collect` hook), so the exposition is prom-client's own.
 */
export class SeriesCounter<T extends string> extends Counter<T> {
  readonly #cells = new Map<string, { labels: LabelValues<T>; cell: CounterCell }>();

  constructor(config: Omit<CounterConfiguration<T>, 'collect'>) {
    super({
      ...config,
      collect: () => {
        for (const { labels, cell } of this.#cells.values()) {
          if (cell.pending === 0) continue;
          this.inc(labels, cell.pending);
          cell.pending = 0;
        }
      },
    });
  }

  /** The cell of one label set; `id` must identify `labels` (the caller joins the values). */
  cell(id: string, labels: LabelValues<T>): CounterCell {
    let entry = this.#cells.get(id);
    if (entry === undefined) {
      entry = { labels, cell: { pending: 0 } };
      this.#cells.set(id, entry);
    }
    return entry.cell;
  }
}

/** One label set of a `SeriesHistogram`: observe with `add`. */
export class HistogramCell {
  /** Observations per bucket (not cumulative); the last slot is +Inf only. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  add(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A prom-client Histogram that also renders cells. `observe` works as on any Histogram, so
 * the class can stand wherever one does; the request path uses cells. A label set is fed one
 * way or the other, not both: the two would render as two series with the same labels.
 */
export class SeriesHistogram<T extends string> extends Histogram<T> {
  readonly #bounds: readonly number[];
  readonly #cells = new Map<string, { labels: LabelValues<T>; cell: HistogramCell }>();
  readonly #name: string;

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
    this.#name = config.name;
  }

  cell(id: string, labels: LabelValues<T>): HistogramCell {
    let entry = this.#cells.get(id);
    if (entry === undefined) {
      entry = { labels, cell: new HistogramCell(this.#bounds) };
      this.#cells.set(id, entry);
    }
    return entry.cell;
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist.
    if (#cells in this) this.#cells.clear();
  }

  /**
   * What prom-client's registry renders (it prefers this to get(), and Histogram's get()
   * builds on it): the cells, after whatever went through the plain Histogram API (observe),
   * which prom-client keeps itself. Values have prom-client's shape for histograms: bucket
   * labels in `labels`, the series' labels in `sharedLabels`.
   */
  async getForPromString(): Promise<Rendered> {
    const base = await renderHistogram.call(this);
    const bucket = `${this.#name}_bucket`;
    const values = [...base.values];
    for (const { labels, cell } of this.#cells.values()) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += cell.counts[i]!;
        values.push({ labels: { le: this.#bounds[i]! }, sharedLabels: labels, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: cell.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.#name}_sum` });
      values.push({ labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.#name}_count` });
    }
    return { ...base, values };
  }
}

/** A histogram value as prom-client's Histogram hands it to the registry. */
interface RenderedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string | number | undefined>;
  value: number;
  metricName: string;
}

type Rendered = Omit<MetricObjectWithValues<MetricValueWithName<string>>, 'values'> & { values: RenderedValue[] };

/** prom-client's own Histogram rendering (in its JavaScript, not in its type declarations). */
const renderHistogram = (Histogram.prototype as unknown as { getForPromString(this: Histogram<string>): Promise<Rendered> }).getForPromString;
