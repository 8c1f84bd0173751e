import type { Registry } from 'prom-client'

/**
 * Metrics for the hot path, served by prom-client's registry like any other (so the text format, the
 * scrape and the workers' aggregation are prom-client's) but recorded without its per-call label
 * validation and hashing, which cost a microsecond or more per observation: a histogram is observed by
 * the index of its label value (known in advance), a counter by a key made of its label values.
 */

interface SampleValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

interface MetricData {
  name: string
  help: string
  type: 'histogram' | 'counter'
  values: SampleValue[]
  aggregator: 'sum'
}

export interface FixedHistogramOptions<V extends string> {
  name: string
  help: string
  labelName: string
  /** Every value the label takes: each series is observed by its index in this list. */
  labelValues: readonly V[]
  buckets: readonly number[]
}

/** A histogram with one label whose values are all known in advance. */
export class FixedHistogram<V extends string> {
  readonly name: string
  private readonly bounds: Float64Array
  /** Per series, per bucket, not cumulative; the last bucket of each series is +Inf. */
  private readonly buckets: Float64Array
  private readonly sums: Float64Array
  private readonly counts: Float64Array
  private readonly index = new Map<string, number>()

  constructor(
    registry: Registry,
    private readonly options: FixedHistogramOptions<V>,
  ) {
    this.name = options.name
    this.bounds = Float64Array.from(options.buckets)
    const series = options.labelValues.length
    this.buckets = new Float64Array(series * (this.bounds.length + 1))
    this.sums = new Float64Array(series)
    this.counts = new Float64Array(series)
    options.labelValues.forEach((value, i) => this.index.set(value, i))
    registry.registerMetric(this as never)
  }

  /** The index to observe `labelValue` by (bind it once, outside the hot path). */
  seriesOf(labelValue: V): number {
    const series = this.index.get(labelValue)
    if (series === undefined) throw new TypeError(`${this.name}: ${labelValue} is not one of its ${this.options.labelName} values`)
    return series
  }

  observe(series: number, value: number): void {
    const bounds = this.bounds
    let bucket = 0
    while (bucket < bounds.length && value > bounds[bucket]) bucket++
    this.buckets[series * (bounds.length + 1) + bucket]++
    this.sums[series] += value
    this.counts[series]++
  }

  /** What prom-client's registry reads at a scrape: only the series observed so far. */
  get(): MetricData {
    const { name, labelName, labelValues } = this.options
    const values: SampleValue[] = []
    const width = this.bounds.length + 1
    labelValues.forEach((labelValue, series) => {
      if (this.counts[series] === 0) return
      let cumulative = 0
      for (let bucket = 0; bucket < width; bucket++) {
        cumulative += this.buckets[series * width + bucket]
        const le = bucket < this.bounds.length ? this.bounds[bucket] : '+Inf'
        // `le` first, as prom-client writes it.
        values.push({ labels: { le, [labelName]: labelValue }, value: cumulative, metricName: `${name}_bucket` })
      }
      values.push({ labels: { [labelName]: labelValue }, value: this.sums[series], metricName: `${name}_sum` })
      values.push({ labels: { [labelName]: labelValue }, value: this.counts[series], metricName: `${name}_count` })
    })
    return { name, help: this.options.help, type: 'histogram', values, aggregator: 'sum' }
  }
}

/** A counter whose series are found by a key the caller makes of the label values (in labelNames order). */
export class KeyedCounter {
  readonly name: string
  private readonly series = new Map<string, SampleValue>()

  constructor(
    registry: Registry,
    private readonly options: { name: string; help: string; labelNames: readonly string[] },
  ) {
    this.name = options.name
    registry.registerMetric(this as never)
  }

  /** Adds one to the series `key` names, if it exists: false when it does not (then `add` it). */
  incExisting(key: string): boolean {
    const found = this.series.get(key)
    if (found === undefined) return false
    found.value++
    return true
  }

  /** Makes the series `key` names, with these label values (in labelNames order), at one. */
  add(key: string, values: readonly string[]): void {
    const labels: Record<string, string> = {}
    this.options.labelNames.forEach((label, i) => (labels[label] = values[i]))
    this.series.set(key, { labels, value: 1 })
  }

  get(): MetricData {
    return { name: this.name, help: this.options.help, type: 'counter', values: [...this.series.values()], aggregator: 'sum' }
  }
}
