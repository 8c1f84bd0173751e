import { revocationRecordOf, type RevocationRecord, type RevocationSet } from './revocation-set.js'
import { EventStreamParser, type ServerSentEvent } from './sse.js'

export interface RevocationFollowerOptions {
  /** The STS's base URL (its admin API). */
  sts: string
  /** The admin token with `revocations:subscribe` (or `revocations:read`), asked for at every connection. */
  token: () => string | Promise<string>
  set: RevocationSet
  fetch: typeof globalThis.fetch
  /** The tokens' clock, in milliseconds: what a revocation's `expiresAt` is compared with. */
  now: () => number
  /** The longest wait between two attempts to reconnect (full jitter below it). */
  reconnectMaxDelayMs: number
  /** Without a byte from the stream for this long (the STS sends a keep-alive every 15 s), it is taken for dead; a request unanswered this long (10 s at most) too. */
  idleTimeoutMs: number
  /** Told each time the stream is open again, and each time it is lost, with why. */
  onFollowing(): void
  onLost(error: Error): void
}

const PAGE = 500
/** An STS that accepts the connection but does not answer (overloaded, a proxy holding it) is given at most this (or the idle timeout). */
const ANSWER_WITHIN_MS = 10_000
/** A refused admin token is not retried quickly: failed authentications count against a budget per address. */
const REFUSED_DELAY_MS = 10_000

/** The STS answered something that needs more than a retry. */
class FollowError extends Error {
  constructor(
    message: string,
    readonly kind: 'gone' | 'refused' | 'limited' | 'failed',
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

/**
 * Keeps a RevocationSet current from the STS: a full listing (`GET /v1/revocations`, every page, so
 * nothing in force is missed), then the stream (`GET /v1/revocations/stream`) from the listing's
 * cursor, each event applied as it comes. After a disconnect it reconnects from the last cursor it
 * applied, so nothing falls in between; when the STS has pruned past that cursor (410, or `event:
 * gone`), it lists again. Reconnects come at once, then after a growing delay with full jitter (at
 * most `reconnectMaxDelayMs`), so a fleet of verifiers does not reconnect in step after an outage.
 */
export class RevocationFollower {
  private cursor: string | undefined
  private stopped = false
  private abort: AbortController | undefined
  private running: Promise<void> | undefined
  private wake: (() => void) | undefined
  /** Failed attempts since the stream was last open: what the delay before the next grows with. */
  private failures = 0

  constructor(private readonly options: RevocationFollowerOptions) {}

  start(): void {
    this.running ??= this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.abort?.abort()
    this.wake?.()
    await this.running
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.cursor === undefined) await this.resynchronise()
        await this.follow()
        // The stream ended (the STS shutting down, a proxy's timeout): resume at once from the cursor.
        if (!this.stopped) this.options.onLost(new Error('the revocation stream ended'))
      } catch (error) {
        if (this.stopped) break
        const failure = error instanceof FollowError ? error : new FollowError(describe(error), 'failed')
        this.options.onLost(failure)
        if (failure.kind === 'gone') {
          this.cursor = undefined
          continue
        }
        await this.sleep(delayAfter(failure, this.failures++, this.options.reconnectMaxDelayMs))
      }
    }
  }

  /** Reads every revocation (all pages) and replaces the set with them; the last page's cursor is where the stream starts. */
  private async resynchronise(): Promise<void> {
    const records: RevocationRecord[] = []
    let page: { revocations?: unknown[]; cursor?: unknown; nextCursor?: unknown }
    let next: string | undefined
    do {
      const query = new URLSearchParams({ limit: String(PAGE), ...(next === undefined ? {} : { cursor: next }) })
      page = (await this.withinDeadline(
        this.request(`v1/revocations?${query.toString()}`, 'application/json').then((response) => response.json()),
      )) as typeof page
      for (const json of page.revocations ?? []) {
        const record = revocationRecordOf(json)
        if (record) records.push(record)
      }
      next = typeof page.nextCursor === 'string' ? page.nextCursor : undefined
    } while (next !== undefined && !this.stopped)
    if (typeof page.cursor !== 'string') throw new FollowError('the revocation listing has no cursor', 'failed')
    this.options.set.replace(records, this.options.now())
    this.cursor = page.cursor
  }

  /** Opens the stream from the cursor and applies its events until it ends (resolves) or fails (throws). */
  private async follow(): Promise<void> {
    const cursor = this.cursor!
    const response = await this.withinDeadline(
      this.request(`v1/revocations/stream?cursor=${encodeURIComponent(cursor)}`, 'text/event-stream', { 'last-event-id': cursor }),
    )
    this.failures = 0
    this.options.onFollowing()
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    const parser = new EventStreamParser()
    let idle = setTimeout(() => this.abort?.abort(new Error('the revocation stream went silent')), this.options.idleTimeoutMs)
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        clearTimeout(idle)
        idle = setTimeout(() => this.abort?.abort(new Error('the revocation stream went silent')), this.options.idleTimeoutMs)
        for (const event of parser.push(value)) if (this.take(event) === 'end') return
      }
    } finally {
      clearTimeout(idle)
      reader.cancel().catch(() => {
        // Already closed.
      })
    }
  }

  /** Applies one event; says when the stream has said its last. */
  private take(event: ServerSentEvent): 'go on' | 'end' {
    if ((event.event === 'revoked' || event.event === 'lifted') && event.id !== undefined) {
      const record = revocationRecordOf(JSON.parse(event.data))
      if (record) this.options.set.apply(record, this.options.now())
      this.cursor = event.id
      return 'go on'
    }
    const reason = readReason(event.data)
    if (event.event === 'gone') throw new FollowError(`the STS pruned past the stream's position: ${reason}`, 'gone')
    if (event.event === 'closed') throw new FollowError(`the STS closed the stream: ${reason}`, 'refused')
    // `shutdown`: the instance is stopping; reconnect (to another) from the cursor.
    return event.event === 'shutdown' ? 'end' : 'go on'
  }

  private async request(path: string, accept: string, headers: Record<string, string> = {}): Promise<Response> {
    this.abort = new AbortController()
    const token = await this.options.token()
    let response: Response
    try {
      // Relative to the STS's URL, path included: an STS behind a path prefix keeps it.
      response = await this.options.fetch(new URL(path, withSlash(this.options.sts)), {
        headers: { accept, authorization: `Bearer ${token}`, ...headers },
        signal: this.abort.signal,
      })
    } catch (error) {
      throw new FollowError(`the STS cannot be reached: ${describe(error)}`, 'failed')
    }
    if (response.ok) return response
    const detail = await problemDetail(response)
    if (response.status === 410) throw new FollowError(`the STS pruned past the cursor: ${detail}`, 'gone')
    if (response.status === 401 || response.status === 403) throw new FollowError(`the STS refused the admin token: ${detail}`, 'refused')
    if (response.status === 429) throw new FollowError(`the STS limits this address: ${detail}`, 'limited', retryAfterMs(response))
    throw new FollowError(`the STS answered ${response.status}: ${detail}`, 'failed')
  }

  /** Aborts the request under way if `work` has not settled in time: silence, as on an open stream. */
  private async withinDeadline<T>(work: Promise<T>): Promise<T> {
    const ms = Math.min(ANSWER_WITHIN_MS, this.options.idleTimeoutMs)
    const timer = setTimeout(() => this.abort?.abort(new Error(`the STS did not answer within ${ms} ms`)), ms)
    try {
      return await work
    } finally {
      clearTimeout(timer)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}

/** Full jitter under a doubling cap (from 50 ms to `maxMs`); the STS's own word (Retry-After) when limited; slow for a refused token. */
function delayAfter(failure: FollowError, failures: number, maxMs: number): number {
  if (failure.kind === 'refused') return REFUSED_DELAY_MS * (0.5 + Math.random() / 2)
  if (failure.kind === 'limited') return failure.retryAfterMs ?? REFUSED_DELAY_MS
  // The first retry comes at once: a stream that just dropped most likely reconnects.
  if (failures === 0) return 0
  return Math.random() * Math.min(maxMs, 50 * 2 ** failures)
}

function retryAfterMs(response: Response): number | undefined {
  const seconds = Number(response.headers.get('retry-after'))
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

async function problemDetail(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: unknown; reason?: unknown }
    return typeof body.detail === 'string' ? body.detail : `status ${response.status}`
  } catch {
    return `status ${response.status}`
  }
}

function readReason(data: string): string {
  try {
    const parsed = JSON.parse(data) as { reason?: unknown; detail?: unknown }
    const said = parsed.detail ?? parsed.reason
    return typeof said === 'string' ? said : data
  } catch {
    return data
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.message}${cause}`
}
