import type { FastifyInstance } from 'fastify'
import { canonicalGitHubSource, canonicalGitHubSubject } from '../../attestors/github/names.js'
import { LiftInput, RevocationInput, RevocationListQuery } from '../../revocation/revocation.js'
import type { RevocationService } from '../../revocation/revocation-service.js'
import { matchesSourceForm, type SourceForm } from '../../attestors/source-forms.js'
import { ForbiddenError, InvalidInputError } from '../../errors.js'
import { actorOf } from './admin-scope.js'
import { RevocationIdParams, revocationOperations, type RevocationList, type RevocationOutcome } from './revocation-operations.js'
import { parseOrProblem } from './validation.js'
import type { RevocationViews } from './revocation-views.js'
import { requireRevocationInScope, scopeOf, type RevocationScope } from './team-scope-checks.js'

export interface RevocationRoutesOptions {
  service: RevocationService
  /** The configured attestors' source forms, as now configured (a reload may change them): a `source` revocation must be able to match one. */
  sourceForms: () => readonly SourceForm[]
  /** What a revocation looks like to the caller: whole, or as a notice for the narrow role. */
  views: RevocationViews
  /** Which revocations a team-scoped token may see, make and lift. */
  teamScope: RevocationScope
}

/** The revocation admin API: /v1/revocations. */
export async function revocationRoutes(app: FastifyInstance, options: RevocationRoutesOptions): Promise<void> {
  const { service, views, teamScope } = options
  const read = { role: 'revocations:read' as const }
  // Polling is following: the narrow role may, and sees notices.
  const follow = { role: 'revocations:read' as const, narrowRole: 'revocations:subscribe' as const }
  const write = { role: 'revocations:write' as const }

  app.post('/v1/revocations', { config: write, schema: revocationOperations.revoke }, async (request, reply) => {
    const parsed = parseOrProblem(RevocationInput, request.body, 'revocation')
    // GitHub names in the spelling the service mints them in (src/attestors/github-names.ts): revoking
    // github:ACME/Api revokes the repository, not a spelling no token carries.
    const value =
      parsed.kind === 'source'
        ? canonicalGitHubSource(parsed.value)
        : parsed.kind === 'subject'
          ? canonicalGitHubSubject(parsed.value)
          : parsed.value
    const input = { ...parsed, value }
    await requireRevocationInScope(request, teamScope, input, 'the revocation')
    const sourceForms = options.sourceForms()
    if (input.kind === 'source' && !matchesSourceForm(sourceForms, input.value)) {
      // A typo here would be a revocation that matches nothing while responders believe it holds.
      const forms = sourceForms.flatMap((form) => form.shows)
      const message =
        forms.length === 0
          ? 'matches no source: no attestor is configured'
          : `matches no configured attestor's sources, which look like ${forms.join(', ')}`
      throw new InvalidInputError(`the revocation is not valid: value: ${message}`, [{ path: 'value', message }])
    }
    const outcome = await service.revoke(input, actorOf(request))
    request.log.warn(
      {
        revocationId: outcome.revocation.id,
        kind: input.kind,
        value: input.value,
        liveTokensCutOff: outcome.liveTokensCutOff,
        alreadyRevoked: outcome.alreadyRevoked,
      },
      outcome.alreadyRevoked ? 'already revoked' : 'revoked',
    )
    const body: RevocationOutcome = {
      revocation: views.full(outcome.revocation),
      liveTokensCutOff: outcome.liveTokensCutOff,
      ...(outcome.liveTokensCutOffUnavailable === undefined ? {} : { liveTokensCutOffUnavailable: outcome.liveTokensCutOffUnavailable }),
      alreadyRevoked: outcome.alreadyRevoked,
    }
    return reply
      .code(outcome.alreadyRevoked ? 200 : 201)
      .header('location', `/v1/revocations/${outcome.revocation.id}`)
      .send(body)
  })

  app.get('/v1/revocations', { config: follow, schema: revocationOperations.list }, async (request): Promise<RevocationList> => {
    const query = parseOrProblem(RevocationListQuery, request.query, 'query')
    // Looking a value up would confirm a guessed source id (or subject) without its hash.
    if (query.value !== undefined && views.isNarrow(request)) {
      throw new ForbiddenError(
        `the admin token ${request.admin?.name ?? 'unknown'} follows revocations only (revocations:subscribe): filtering by value needs revocations:read`,
        'role_missing',
      )
    }
    const page = await service.list({
      kind: query.kind,
      value: query.value,
      active: query.active,
      cursor: query.cursor,
      since: query.since,
      limit: query.limit,
    })
    return {
      // A team's token sees its identities' revocations; the others are left out of the page.
      revocations: (await teamScope.visible(request, page.items)).map(views.forCaller(request)),
      // Where to poll from next: changes after this position.
      cursor: page.position,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    }
  })

  app.get('/v1/revocations/:id', { config: read, schema: revocationOperations.read }, async (request) => {
    const revocation = await service.get(parseOrProblem(RevocationIdParams, request.params, 'path').id)
    await requireRevocationInScope(request, teamScope, revocation, `revocation ${revocation.id}`)
    return { revocation: views.full(revocation) }
  })

  app.delete('/v1/revocations/:id', { config: write, schema: revocationOperations.lift }, async (request) => {
    const { id } = parseOrProblem(RevocationIdParams, request.params, 'path')
    const { reason } = parseOrProblem(LiftInput, request.body, 'lift')
    if (scopeOf(request) !== null) {
      const revocation = await service.get(id)
      await requireRevocationInScope(request, teamScope, revocation, `revocation ${revocation.id}`)
    }
    const lifted = await service.lift(id, reason, actorOf(request))
    request.log.warn({ revocationId: lifted.id, kind: lifted.kind, value: lifted.value }, 'revocation lifted')
    return { revocation: views.full(lifted) }
  })
}
