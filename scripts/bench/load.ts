import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

/**
 * A closed-loop load generator: `connections` keep-alive connections, each sending its next request
 * as soon as the previous answer is in, for a fixed time. When the time is up no new request starts,
 * but every request already sent is waited for: each one the service answered is counted, so the
 * ledger can be compared with the answers exactly. (autocannon drops the requests in flight at the
 * end, which the service has already recorded; that is why this is not autocannon.)
 */

export interface LoadTarget {
  host: string
  port: number
  path: string
  /** Request bodies, used round-robin: one per workload. */
  bodies: readonly Buffer[]
  contentType: string
  /** Extra headers of the n-th request (a fresh DPoP proof each: bench/dpop.ts). */
  headersFor?: (n: number) => Record<string, string>
}

export interface LoadResult {
  /** From the first request to the last answer. */
  elapsedSeconds: number
  /** Answers 200; their latencies are in `latenciesMs`. */
  ok: number
  /** The x-request-id of every 200 answer: the service writes it into the ledger row. */
  okRequestIds: string[]
  latenciesMs: Float64Array
  /** Answers other than 200, by status. */
  otherStatuses: Map<number, number>
  /** The first body of each non-200 status, to say what went wrong. */
  sampleBodies: Map<number, string>
  /** Requests that got no answer (reset, timeout), by error code. */
  transportErrors: Map<string, number>
}

export interface LoadRun {
  connections: number
  seconds: number
  /** Prefix of the x-request-id of each request, unique per run. */
  requestIdPrefix: string
  requestTimeoutMs?: number
}

export async function driveLoad(target: LoadTarget, run: LoadRun): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: run.connections, maxFreeSockets: run.connections })
  const latencies: number[] = []
  const result: Omit<LoadResult, 'elapsedSeconds' | 'latenciesMs'> = {
    ok: 0,
    okRequestIds: [],
    otherStatuses: new Map(),
    sampleBodies: new Map(),
    transportErrors: new Map(),
  }
  let sequence = 0
  const started = performance.now()
  const deadline = started + run.seconds * 1000

  const connection = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const n = sequence++
      const requestId = `${run.requestIdPrefix}-${n}`
      const body = target.bodies[n % target.bodies.length]
      const sent = performance.now()
      const extra = target.headersFor?.(n) ?? {}
      const answer = await send(agent, target, body, extra, requestId, run.requestTimeoutMs ?? 10_000)
      if ('error' in answer) {
        result.transportErrors.set(answer.error, (result.transportErrors.get(answer.error) ?? 0) + 1)
        // The service may be gone: do not spin on refused connections until the deadline.
        await new Promise((resolve) => setTimeout(resolve, 10))
      } else if (answer.status === 200) {
        result.ok++
        result.okRequestIds.push(requestId)
        latencies.push(performance.now() - sent)
      } else {
        result.otherStatuses.set(answer.status, (result.otherStatuses.get(answer.status) ?? 0) + 1)
        if (!result.sampleBodies.has(answer.status)) result.sampleBodies.set(answer.status, answer.body.slice(0, 300))
      }
    }
  }
  await Promise.all(Array.from({ length: run.connections }, connection))
  const elapsedSeconds = (performance.now() - started) / 1000
  agent.destroy()
  return { ...result, elapsedSeconds, latenciesMs: Float64Array.from(latencies) }
}

type Answer = { status: number; body: string } | { error: string }

function send(
  agent: Agent,
  target: LoadTarget,
  body: Buffer,
  extra: Record<string, string>,
  requestId: string,
  timeoutMs: number,
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.host,
        port: target.port,
        method: 'POST',
        path: target.path,
        headers: { ...extra, 'content-type': target.contentType, 'content-length': body.length, 'x-request-id': requestId },
      },
      (res) => {
        const status = res.statusCode ?? 0
        // A 200's body is a fresh access token: read and dropped. Other bodies are kept to be shown.
        const chunks: Buffer[] = []
        if (status === 200) res.resume()
        else res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
      },
    )
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    req.end(body)
  })
}

/** Nearest-rank percentile of unsorted values; NaN when there are none. */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
