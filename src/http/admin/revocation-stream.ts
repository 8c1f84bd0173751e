import type { FastifyInstance } from 'fastify'
import type { Drain } from '../../lib/drain.js'
import type { StreamObserver } from '../../observability/observers.js'
import type { RevocationCache } from '../../revocation/revocation-cache.js'
import type { RevocationService } from '../../revocation/revocation-service.js'
import type { AdminTokenVerifier } from '../../admin-tokens/admin-token-verifier.js'
import { ForbiddenError, GoneError, UnauthenticatedError } from '../../errors.js'
import type { Revocation } from '../../revocation/revocation.js'
import { authenticateAdmin } from './admin-scope.js'
import { revocationOperations, StreamQuery } from './revocation-operations.js'
import { parseOrProblem } from './validation.js'
import type { RevocationViews } from './revocation-views.js'
import type { RevocationScope } from './team-scope-checks.js'

export interface RevocationStreamOptions {
  service: RevocationService
  cache: RevocationCache
  /** Told when a stream opens and closes. */
  streams?: StreamObserver
  /** When the process drains, each stream sends a final `shutdown` event and ends. */
  drain: Drain
  /** The stream checks its admin token again while it is open (the scope checked it once, at the start). */
  verifier: AdminTokenVerifier
  /** What a revocation looks like to the caller: whole, or as a notice for the narrow role. */
  views: RevocationViews
  /** Which revocations a team-scoped token is sent. */
  teamScope: RevocationScope
  /** How often the stream proves it is alive (and re-reads the log, in case a wake-up was missed). */
  keepAliveMs?: number
  /**
   * How often the admin token is checked again while the stream is open (besides before every batch
   * of events). The authenticator trusts a looked-up token for its own window (5 s), like any request.
   */
  recheckMs?: number
}

/** About 17 s of looking again for an announced change (20 ms, growing to 500 ms): past the keep-alive's re-read. */
const ANNOUNCED_RETRIES = 40
const PAGE = 500

/**
 * GET /v1/revocations/stream: server-sent events, one per change (`revoked` or `lifted`), each with its
 * cursor as the event id. A client that reconnects with `Last-Event-ID` (or `?cursor=`) gets every
 * change after it, with no gap: events are read from the durable log in order, and the live feed only
 * says when to read again.
 */
export async function revocationStreamRoute(app: FastifyInstance, options: RevocationStreamOptions): Promise<void> {
  const keepAliveMs = options.keepAliveMs ?? 15_000
  const recheckMs = options.recheckMs ?? 250

  // Open for as long as the client reads: shed when it opens, but never counted in flight.
  // The narrow role follows too, and is sent notices (no reasons, sources by their hash).
  const config = { role: 'revocations:read' as const, narrowRole: 'revocations:subscribe' as const, overload: 'long-lived' as const }
  const route = { config, schema: revocationOperations.stream }
  app.get('/v1/revocations/stream', route, async (request, reply) => {
    const query = parseOrProblem(StreamQuery, request.query, 'query')
    const lastEventId = request.headers['last-event-id']
    const resumeFrom = typeof lastEventId === 'string' && /^\d{1,18}$/.test(lastEventId) ? lastEventId : query.cursor
    // Without a position, the stream starts at the present: read the list first for the past.
    // A bigint, never a number: a cursor beyond 2^53 keeps every digit.
    let position = resumeFrom !== undefined ? BigInt(resumeFrom) : await options.service.lastPosition()
    // Before the stream starts, so a position retention has passed is a 410 problem, not a gap.
    if (resumeFrom !== undefined) await options.service.assertResumable(position)

    const view = options.views.forCaller(request)

    reply.hijack()
    const out = reply.raw
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    })
    out.write(`retry: 1000\n: stream of revocations after ${position}\n\n`)
    options.streams?.opened()

    let closed = false
    let reading: Promise<void> | undefined
    let again = false
    // A change is announced while its transaction is still committing: the log may not show it yet.
    // One announced before this stream began watching counts too, or its commit would go unread.
    const heard = options.cache.highestSeq()
    let announced = heard > position ? heard : position
    let retries = 0
    const send = (revocation: Revocation) => {
      const event = revocation.liftedAt === null ? 'revoked' : 'lifted'
      out.write(`id: ${revocation.seq}\nevent: ${event}\ndata: ${JSON.stringify(view(revocation))}\n\n`)
      position = revocation.seq
    }
    // A token revoked (or expired) while the stream is open loses it: checked again within the same
    // trust window as any request, and always before events go out.
    const stillAllowed = async (): Promise<boolean> => {
      try {
        await authenticateAdmin(options.verifier, request)
        return true
      } catch (error) {
        if (!(error instanceof UnauthenticatedError || error instanceof ForbiddenError) || closed) throw error
        closed = true
        out.end(`event: closed\ndata: ${JSON.stringify({ reason: error.message })}\n\n`)
        request.log.warn({ reason: error.message }, 'revocation stream closed: its admin token is no longer allowed')
        return false
      }
    }
    const readNew = async (): Promise<void> => {
      for (;;) {
        const page = await options.service.list({ since: String(position), limit: PAGE })
        if (closed || (page.items.length > 0 && !(await stillAllowed()))) return
        // A team's token is sent its identities' revocations only; the position moves past the others.
        const shown = await options.teamScope.visible(request, page.items)
        if (closed) return
        shown.forEach(send)
        const last = page.items.at(-1)
        if (last !== undefined) position = last.seq
        if (page.nextCursor === undefined) return
      }
    }
    // Retention pruned past this stream's position while it lagged: it cannot go on without a gap.
    const endGone = (error: GoneError) => {
      if (closed) return
      closed = true
      out.end(`event: gone\ndata: ${JSON.stringify({ reason: error.reason, detail: error.message, cursor: String(position) })}\n\n`)
      request.log.warn({ cursor: String(position) }, 'revocation stream ended: retention pruned past its position')
    }
    // One read at a time; a wake-up during a read asks for one more pass after it.
    const wake = (seq?: bigint) => {
      if (closed) return
      if (seq !== undefined && seq > announced) announced = seq
      if (reading) {
        again = true
        return
      }
      reading = readNew()
        .catch((error: unknown) => {
          if (error instanceof GoneError) return endGone(error)
          request.log.warn({ err: { message: (error as Error).message } }, 'revocation stream cannot read the log; will retry')
        })
        .finally(() => {
          reading = undefined
          if (again) {
            again = false
            wake()
          } else if (position < announced && retries < ANNOUNCED_RETRIES) {
            // A commit can take seconds on a loaded disk: look again, less and less often, until the
            // keep-alive's own re-read takes over (an announced change that rolled back never shows).
            setTimeout(wake, Math.min(20 * 1.5 ** retries++, 500)).unref()
          } else {
            retries = 0
          }
        })
    }
    const unwatch = options.cache.watch(wake)
    const timer = setInterval(() => {
      out.write(': keep-alive\n\n')
      wake()
    }, keepAliveMs)
    // The process is stopping: say so, and end the stream; the client resumes elsewhere with Last-Event-ID.
    const undrain = options.drain.onBegin(() => {
      if (closed) return
      const reason = 'the server is shutting down; reconnect with Last-Event-ID to resume'
      out.end(`event: shutdown\ndata: ${JSON.stringify({ reason, cursor: String(position) })}\n\n`)
    })
    const recheck = setInterval(() => {
      stillAllowed().catch(() => {
        // The token store cannot answer now: no events go out until it can (readNew checks first).
      })
    }, recheckMs)
    // The response's close, not the request's: a request 'closes' as soon as its body has been read.
    out.on('close', () => {
      options.streams?.closed()
      closed = true
      unwatch()
      undrain()
      clearInterval(timer)
      clearInterval(recheck)
    })
    wake()
  })
}
