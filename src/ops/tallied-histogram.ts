import { Histogram, type Aggregator, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';

interface Tally {
  labels: LabelValues<string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** What a histogram's series carry at scrape time, as prom-client's own histograms hand them over. */
type Series<L> = { labels: L; sharedLabels?: LabelValues<string>; value: number; metricName: string; exemplar?: null };

/**
 * A prom-client histogram with one label, for an observation on every proxied request.
 * prom-client's own `observe` builds a label hash string, checks the labels and looks the
 * series up on each call, work that sits on every proxied request's path; `record` only finds a
 * typed array by the label value and adds to it (test/bench/HISTORY.md has the measurements).
 * At scrape time the tallies are handed over in prom-client's own shape, so the registry, the
 * cluster aggregation and the exposition format stay prom-client's (held to a plain Histogram by
 * test/units.test.ts). Only `record` feeds it.
 */
export class TalliedHistogram extends Histogram {
  private readonly bounds: number[];
  private readonly tallies = new Map<string, Tally>();
  private readonly about: { name: string; help: string; aggregator: Aggregator };

  constructor(
    private readonly label: string,
    configuration: Pick<HistogramConfiguration<string>, 'name' | 'help' | 'registers' | 'aggregator'> & { buckets: number[] },
  ) {
    super({ ...configuration, labelNames: [label] });
    this.bounds = [...configuration.buckets].sort((a, b) => a - b);
    this.about = { name: configuration.name, help: configuration.help, aggregator: configuration.aggregator ?? 'sum' };
  }

  record(labelValue: string, value: number): void {
    let tally = this.tallies.get(labelValue);
    if (!tally) {
      tally = { labels: { [this.label]: labelValue }, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.tallies.set(labelValue, tally);
    }
    let slot = 0;
    while (slot < this.bounds.length && value > (this.bounds[slot] as number)) slot++;
    tally.buckets[slot] = (tally.buckets[slot] as number) + 1;
    tally.sum += value;
    tally.count += 1;
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.tallies as Map<string, Tally> | undefined)?.clear();
  }

  /** The registry's text format reads this one when it exists (prom-client: the series' labels go as shared labels). */
  async getForPromString(): Promise<MetricObjectWithValues<Series<LabelValues<'le'>>>> {
    return this.snapshot((le, labels) => ({ labels: le, sharedLabels: labels }));
  }

  /** JSON, and the cluster aggregation: every label in `labels`. */
  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.snapshot((le, labels) => ({ labels: { ...le, ...labels } }));
  }

  private snapshot<L extends LabelValues<string>>(labelled: (le: LabelValues<'le'>, labels: LabelValues<string>) => { labels: L; sharedLabels?: LabelValues<string> }) {
    const values: Series<L>[] = [];
    const { name } = this.about;
    for (const tally of this.tallies.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += tally.buckets[i] as number;
        values.push({ ...labelled({ le: bound }, tally.labels), value: cumulative, metricName: `${name}_bucket`, exemplar: null });
      });
      values.push({ ...labelled({ le: '+Inf' }, tally.labels), value: tally.count, metricName: `${name}_bucket`, exemplar: null });
      values.push({ ...labelled({}, tally.labels), value: tally.sum, metricName: `${name}_sum` });
      values.push({ ...labelled({}, tally.labels), value: tally.count, metricName: `${name}_count` });
    }
    // prom-client's typings give `type` as a numeric enum; at run time (and in the exposition) it is the string.
    return { ...this.about, type: 'histogram' as unknown as MetricType, values, collect: () => undefined };
  }
}
