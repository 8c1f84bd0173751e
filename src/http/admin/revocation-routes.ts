import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { canonicalGitHubSource, canonicalGitHubSubject } from '../../attestors/github-names.js'
import { LiftInput, RevocationInput, RevocationListQuery, revocationToJson } from '../../revocation/revocation.js'
import type { Actor } from '../../audit/audit-log.js'
import type { RevocationService } from '../../revocation/revocation-service.js'
import { parseOrProblem } from './validation.js'

export interface RevocationRoutesOptions {
  service: RevocationService
  authenticate: (request: FastifyRequest) => Promise<void>
  actorOf: (request: FastifyRequest) => Actor
  routeConfig: Record<string, unknown>
}

const IdParams = z.object({ id: z.string() })

/** The revocation admin API: /v1/revocations. */
export async function revocationRoutes(app: FastifyInstance, options: RevocationRoutesOptions): Promise<void> {
  const { service } = options
  app.addHook('preParsing', async (request) => options.authenticate(request))
  const read = { config: { ...options.routeConfig, role: 'revocations:read' as const } }
  const write = { config: { ...options.routeConfig, role: 'revocations:write' as const } }

  app.post('/v1/revocations', write, async (request, reply) => {
    const parsed = parseOrProblem(RevocationInput, request.body, 'revocation')
    // GitHub names in the spelling the service mints them in (src/attestors/github-names.ts): revoking
    // github:ACME/Api revokes the repository, not a spelling no token carries.
    const value = parsed.kind === 'source' ? canonicalGitHubSource(parsed.value) : parsed.kind === 'subject' ? canonicalGitHubSubject(parsed.value) : parsed.value
    const input = { ...parsed, value }
    const outcome = await service.revoke(input, options.actorOf(request))
    request.log.warn(
      { revocationId: outcome.revocation.id, kind: input.kind, value: input.value, liveTokensCutOff: outcome.liveTokensCutOff, alreadyRevoked: outcome.alreadyRevoked },
      outcome.alreadyRevoked ? 'already revoked' : 'revoked',
    )
    return reply
      .code(outcome.alreadyRevoked ? 200 : 201)
      .header('location', `/v1/revocations/${outcome.revocation.id}`)
      .send({
        revocation: revocationToJson(outcome.revocation),
        liveTokensCutOff: outcome.liveTokensCutOff,
        ...(outcome.liveTokensCutOffUnavailable === undefined ? {} : { liveTokensCutOffUnavailable: outcome.liveTokensCutOffUnavailable }),
        alreadyRevoked: outcome.alreadyRevoked,
      })
  })

  app.get('/v1/revocations', read, async (request) => {
    const query = parseOrProblem(RevocationListQuery, request.query, 'query')
    const after = query.cursor ?? query.since
    const revocations = await service.list({ kind: query.kind, value: query.value, active: query.active, afterSeq: after === undefined ? undefined : BigInt(after), limit: query.limit + 1 })
    const page = revocations.slice(0, query.limit)
    const cursor = page.length > 0 ? String(page[page.length - 1]!.seq) : (after ?? '0')
    return {
      revocations: page.map(revocationToJson),
      // Where to poll from next: changes after this position.
      cursor,
      ...(revocations.length > query.limit ? { nextCursor: cursor } : {}),
    }
  })

  app.get('/v1/revocations/:id', read, async (request) => {
    return { revocation: revocationToJson(await service.get(IdParams.parse(request.params).id)) }
  })

  app.delete('/v1/revocations/:id', write, async (request) => {
    const { reason } = parseOrProblem(LiftInput, request.body, 'lift')
    const lifted = await service.lift(IdParams.parse(request.params).id, reason, options.actorOf(request))
    request.log.warn({ revocationId: lifted.id, kind: lifted.kind, value: lifted.value }, 'revocation lifted')
    return { revocation: revocationToJson(lifted) }
  })
}
