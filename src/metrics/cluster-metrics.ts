import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client'
import type { Scrape, ScrapeSource } from './metrics.js'

/**
 * With workers (src/workers.ts), one scrape reports the whole process group, not whichever worker
 * the connection landed on. The primary asks every worker for its registry over the cluster's IPC
 * channel and combines them with prom-client's AggregatorRegistry.aggregate (each metric by its
 * `aggregator`). A worker that receives a scrape on the main port asks the primary for that combined
 * text; with `metrics.port`, the primary itself answers on that port.
 *
 * A worker that does not answer in time (stuck, stopped, busy past its bounds) does not fail the
 * scrape: it is reported by its last answer, so its counters do not drop (which Prometheus would read
 * as a reset, and every rate() as a burst when they came back), and `sts_metrics_workers` says how
 * many workers answered, were reported by their last answer, or could not be reported at all.
 */

/** A worker's scrape request to the primary, and the primary's answer. */
const REQUEST = 'sts:metrics-scrape-request'
const ANSWER = 'sts:metrics-scrape-answer'
/** The primary's request for a worker's own metrics, and the worker's answer. */
const GATHER = 'sts:metrics-gather-request'
const GATHERED = 'sts:metrics-gather-answer'

/**
 * How long the primary waits for the workers: well within the 5 s a worker waits for the primary
 * (workerScrape), and Prometheus's default scrape timeout of 10 s.
 */
export const WORKER_ANSWER_MS = 2000

type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

interface ScrapeRequest {
  type: typeof REQUEST
  id: number
}

type ScrapeAnswer = { type: typeof ANSWER; id: number } & ({ scrape: Scrape } | { error: string })

interface GatherRequest {
  type: typeof GATHER
  id: number
}

interface GatherAnswer {
  type: typeof GATHERED
  id: number
  metrics: WorkerMetrics
}

type PrimaryMessage = Partial<ScrapeRequest> | Partial<GatherAnswer> | null

/** In the primary: the combined scrape, also answered to the workers that ask for it. */
export function primaryScrape(answerWithinMs = WORKER_ANSWER_MS): ScrapeSource {
  /** Each live worker's latest answer, by worker id: what reports it when it does not answer in time. */
  const lastKnown = new Map<number, WorkerMetrics>()
  const gathering = new Map<number, (worker: Worker) => void>()
  let next = 0

  const scrape: ScrapeSource = async () => {
    const id = next++
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker?.isConnected() === true)
    const answered = new Set<number>()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, answerWithinMs)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      gathering.set(id, (worker) => {
        answered.add(worker.id)
        if (answered.size >= workers.length) done()
      })
      // A worker gone meanwhile is told through the callback, rather than as an 'error' nobody listens to.
      for (const worker of workers) worker.send({ type: GATHER, id } satisfies GatherRequest, undefined, () => {})
      if (workers.length === 0) done()
    })
    gathering.delete(id)
    const count = { answered: 0, last_known: 0, missing: 0 }
    const reported: WorkerMetrics[] = []
    for (const worker of workers) {
      const metrics = lastKnown.get(worker.id)
      if (metrics === undefined) count.missing++
      else {
        reported.push(metrics)
        count[answered.has(worker.id) ? 'answered' : 'last_known']++
      }
    }
    const combined = AggregatorRegistry.aggregate(reported)
    const gauge = new Gauge({
      name: 'sts_metrics_workers',
      help: 'Workers in this scrape, by answer: answered in time, last_known (did not answer in time: reported by its last answer), missing (never answered: not in this scrape).',
      labelNames: ['answer'],
      registers: [combined],
    })
    for (const [answer, n] of Object.entries(count)) gauge.labels(answer).set(n)
    return { contentType: combined.contentType, body: await combined.metrics() }
  }

  cluster.on('message', (worker: Worker, message: PrimaryMessage) => {
    if (message?.type === GATHERED && typeof message.id === 'number' && Array.isArray(message.metrics)) {
      // A late answer (to a scrape that went on without it) is still the newest this worker gave.
      lastKnown.set(worker.id, message.metrics)
      gathering.get(message.id)?.(worker)
      return
    }
    if (message?.type !== REQUEST || typeof message.id !== 'number') return
    const id = message.id
    const answer = (reply: ScrapeAnswer) => worker.send(reply, undefined, () => {})
    scrape().then(
      (scraped) => answer({ type: ANSWER, id, scrape: scraped }),
      (error: unknown) => answer({ type: ANSWER, id, error: (error as Error).message }),
    )
  })
  cluster.on('exit', (worker: Worker) => lastKnown.delete(worker.id))
  return scrape
}

/**
 * In a worker: answers the primary's requests for `registry`, and answers a scrape with the combined
 * text the primary sends.
 */
export function workerScrape(registry: Registry, timeoutMs = 5000): ScrapeSource {
  const waiting = new Map<number, { resolve: (scrape: Scrape) => void; reject: (error: Error) => void }>()
  let next = 0
  process.on('message', (message: Partial<ScrapeAnswer> | Partial<GatherRequest> | null) => {
    if (message?.type === GATHER && typeof message.id === 'number') {
      const id = message.id
      // A registry that cannot be read is not answered: the primary reports this worker by its last answer.
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: GATHERED, id, metrics } satisfies GatherAnswer),
        () => {},
      )
      return
    }
    if (message?.type !== ANSWER || typeof message.id !== 'number') return
    const pending = waiting.get(message.id)
    if (!pending) return
    waiting.delete(message.id)
    if ('scrape' in message && message.scrape) pending.resolve(message.scrape)
    else
      pending.reject(new Error(`the primary could not combine the workers' metrics: ${'error' in message ? message.error : 'no answer'}`))
  })
  return () =>
    new Promise<Scrape>((resolve, reject) => {
      const id = next++
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error(`the primary did not answer for the workers' metrics within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
      waiting.set(id, {
        resolve: (scrape) => (clearTimeout(timer), resolve(scrape)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      })
      process.send?.({ type: REQUEST, id } satisfies ScrapeRequest)
    })
}
