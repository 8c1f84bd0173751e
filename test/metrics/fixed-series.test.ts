import { Counter, Histogram, Registry } from 'prom-client'
import t from 'tap'
import { FixedHistogram, KeyedCounter } from '../../src/metrics/fixed-series.js'

/** The fixed series the hot path records into say exactly what prom-client's own metrics would. */

const BUCKETS = [0.001, 0.01, 0.1, 1]

t.test('a fixed histogram renders as prom-client renders the same observations', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const fixed = new FixedHistogram(ours, {
    name: 'h_seconds',
    help: 'h',
    labelName: 'phase',
    labelValues: ['a', 'b', 'c'],
    buckets: BUCKETS,
  })
  const reference = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['phase'], buckets: BUCKETS, registers: [theirs] })
  // On a bound (le is inclusive), between, below all, above all; series c is never observed.
  const observations: ['a' | 'b', number][] = [
    ['a', 0.001],
    ['a', 0.0011],
    ['a', 0],
    ['b', 5],
    ['a', 0.1],
    ['b', 0.01],
  ]
  for (const [phase, value] of observations) {
    fixed.observe(fixed.seriesOf(phase), value)
    reference.labels(phase).observe(value)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
  // Exemplars (which we never record) aside.
  type Json = { values: { labels: object; value: number; metricName?: string }[] }[]
  const withoutExemplars = (metrics: unknown) =>
    (metrics as Json).map((metric) => ({
      ...metric,
      values: metric.values.map(({ labels, value, metricName }) => ({ labels, value, metricName })),
    }))
  t.same(
    withoutExemplars(await ours.getMetricsAsJSON()),
    withoutExemplars(await theirs.getMetricsAsJSON()),
    'what the workers send the primary, too',
  )
  t.throws(() => fixed.seriesOf('d' as 'a'), /d is not one of its phase values/)
})

t.test('a keyed counter renders as prom-client renders the same increments', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const keyed = new KeyedCounter(ours, { name: 'c_total', help: 'c', labelNames: ['x', 'y'] })
  const reference = new Counter({ name: 'c_total', help: 'c', labelNames: ['x', 'y'], registers: [theirs] })
  for (const [x, y] of [
    ['1', 'a'],
    ['1', 'b'],
    ['1', 'a'],
  ]) {
    const key = `${x}|${y}`
    if (!keyed.incExisting(key)) keyed.add(key, [x, y])
    reference.labels(x, y).inc()
  }
  t.equal(await ours.metrics(), await theirs.metrics())
})
