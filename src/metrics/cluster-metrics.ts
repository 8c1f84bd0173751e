import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { Scrape, ScrapeSource } from './metrics.js'

/**
 * With workers (src/workers.ts), one scrape reports the whole process group, not whichever worker
 * the connection landed on. The primary holds prom-client's AggregatorRegistry: it asks every worker
 * for its registry over the cluster's IPC channel and combines them (each metric by its
 * `aggregator`). A worker that receives a scrape on the main port asks the primary for that combined
 * text; with `metrics.port`, the primary itself answers on that port.
 */

const REQUEST = 'sts:metrics-scrape-request'
const ANSWER = 'sts:metrics-scrape-answer'

interface ScrapeRequest {
  type: typeof REQUEST
  id: number
}

type ScrapeAnswer = { type: typeof ANSWER; id: number } & ({ scrape: Scrape } | { error: string })

/** In the primary: the combined scrape, also answered to the workers that ask for it. */
export function primaryScrape(): ScrapeSource {
  const aggregator = new AggregatorRegistry()
  const scrape: ScrapeSource = async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() })
  cluster.on('message', (worker, message: Partial<ScrapeRequest> | null) => {
    if (message?.type !== REQUEST || typeof message.id !== 'number') return
    const id = message.id
    scrape().then(
      (answer) => worker.send({ type: ANSWER, id, scrape: answer } satisfies ScrapeAnswer),
      (error: unknown) => worker.send({ type: ANSWER, id, error: (error as Error).message } satisfies ScrapeAnswer),
    )
  })
  return scrape
}

/**
 * In a worker: offers `registry` to the primary's aggregation (prom-client answers its requests once
 * an AggregatorRegistry exists here), and answers a scrape with the combined text the primary sends.
 */
export function workerScrape(registry: Registry, timeoutMs = 5000): ScrapeSource {
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([registry])
  const waiting = new Map<number, { resolve: (scrape: Scrape) => void; reject: (error: Error) => void }>()
  let next = 0
  process.on('message', (message: Partial<ScrapeAnswer> | null) => {
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
